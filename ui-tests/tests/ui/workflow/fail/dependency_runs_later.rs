// `summarize` reads `keywords`, which runs in a later group; and `extract` reads a stage that is not in
// the workflow at all. Both are reported.
use workflow_core::prelude::*;

#[stage]
async fn extract(ctx: &StageContext, input: String) -> Result<String, StageError> {
    let _ = ctx.require::<translate>()?;
    Ok(input)
}

#[stage]
async fn summarize(ctx: &StageContext, input: String) -> Result<String, StageError> {
    let keywords = ctx.require::<keywords>()?;
    Ok(format!("{input}{keywords:?}"))
}

#[stage]
async fn keywords(input: String) -> Result<Vec<String>, StageError> {
    Ok(vec![input])
}

#[stage]
async fn translate(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    Doc { stages: extract >> summarize >> keywords }
}

fn main() {}
