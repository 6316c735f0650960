// `publish` reads `tag`, but both run in the same parallel group.
use workflow_core::prelude::*;

#[stage]
async fn extract(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn summarize(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn publish(ctx: &StageContext) -> Result<String, StageError> {
    let tags = ctx.require::<tag>()?;
    Ok(tags.join(","))
}

#[stage]
async fn tag(ctx: &StageContext) -> Result<Vec<String>, StageError> {
    Ok(vec![ctx.stage_id().to_owned()])
}

workflow! {
    Doc { stages: extract >> summarize >> (publish | tag) }
}

fn main() {}
