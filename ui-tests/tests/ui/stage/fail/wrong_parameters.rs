use workflow_core::prelude::*;

#[stage]
async fn too_many(ctx: &StageContext, input: String, config: NoConfig, extra: u8) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn context_last(input: String, ctx: &StageContext) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn context_by_value(ctx: StageContext) -> Result<(), StageError> {
    Ok(())
}

#[stage]
async fn generic<T>(input: T) -> Result<(), StageError> {
    Ok(())
}

fn main() {}
