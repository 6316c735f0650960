use workflow_core::prelude::*;

#[stage]
async fn summarize(ctx: &StageContext) -> Result<String, StageError> {
    let previous = ctx.require::<summarize>()?;
    Ok(previous.clone())
}

fn main() {}
