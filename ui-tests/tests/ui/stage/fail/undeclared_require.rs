// A `require` in a helper fn is invisible to the token scan; without `deps = [load]` it does not compile.
use workflow_core::prelude::*;

#[stage]
async fn load(input: String) -> Result<String, StageError> {
    Ok(input)
}

fn read_loaded(ctx: &StageContext<report>) -> Result<String, StageError> {
    Ok(ctx.require::<load>()?.clone())
}

#[stage]
async fn report(ctx: &StageContext) -> Result<String, StageError> {
    read_loaded(ctx)
}

fn main() {}
