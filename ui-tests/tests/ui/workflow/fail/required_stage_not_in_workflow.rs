// `summarize` requires `extract`, which the workflow does not list at all.
use workflow_core::prelude::*;

#[stage]
async fn extract(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn summarize(ctx: &StageContext, input: String) -> Result<String, StageError> {
    let extracted = ctx.require::<extract>()?;
    Ok(format!("{input}: {extracted}"))
}

workflow! {
    Doc { input: String, stages: summarize }
}

fn main() {}
