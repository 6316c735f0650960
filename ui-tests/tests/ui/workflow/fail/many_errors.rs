// Several mistakes in one workflow are all reported in one build.
use workflow_core::prelude::*;

#[stage]
async fn extract(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn count(ctx: &StageContext, input: String) -> Result<usize, StageError> {
    let _ = ctx.require::<report>()?;
    Ok(input.len())
}

#[stage]
async fn report(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    Many {
        input: u64,
        stages: extract >> count >> report >> extract,
    }
}

fn main() {}
