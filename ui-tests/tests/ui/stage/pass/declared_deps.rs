// `deps = [..]` declares dependencies read in helper fns that the token scan cannot see.
use workflow_core::prelude::*;

#[stage]
async fn load(input: String) -> Result<String, StageError> {
    Ok(input)
}

fn read_loaded(ctx: &StageContext<report>) -> Result<String, StageError> {
    Ok(ctx.require::<load>()?.clone())
}

#[stage(deps = [load])]
async fn report(ctx: &StageContext) -> Result<String, StageError> {
    read_loaded(ctx)
}

workflow! {
    Reports { stages: load >> report }
}

fn main() {
    assert_eq!(<report as Stage>::DEPENDENCIES, &["load"]);
    assert_eq!(Reports::definition().stage_ids(), ["load", "report"]);
}
