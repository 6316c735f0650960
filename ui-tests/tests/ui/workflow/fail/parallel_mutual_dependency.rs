// Two stages of one parallel group cannot read each other.
use workflow_core::prelude::*;

#[stage]
async fn start(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn left(ctx: &StageContext) -> Result<String, StageError> {
    Ok(ctx.require::<right>()?.clone())
}

#[stage]
async fn right(ctx: &StageContext) -> Result<String, StageError> {
    Ok(ctx.require::<left>()?.clone())
}

workflow! {
    Pair { stages: start >> (left | right) }
}

fn main() {}
