// After a parallel group the next stage takes the tuple of outputs, or no input at all.
use workflow_core::prelude::*;

#[stage]
async fn start(input: u32) -> Result<u32, StageError> {
    Ok(input)
}
#[stage]
async fn left(input: u32) -> Result<String, StageError> {
    Ok(input.to_string())
}
#[stage]
async fn right(input: u32) -> Result<bool, StageError> {
    Ok(input > 1)
}
#[stage]
async fn join(ctx: &StageContext) -> Result<String, StageError> {
    let left = ctx.require::<left>()?;
    let right = ctx.require::<right>()?;
    Ok(format!("{left}{right}"))
}
#[stage]
async fn finish(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    Split { stages: start >> (left | right) >> join >> finish }
}

// The workflow input defaults to the first stage's input; the output is the last group's output.
fn input_and_output<W: WorkflowIo<I, O>, I, O>(_: W) -> (&'static str, &'static str) {
    (std::any::type_name::<I>(), std::any::type_name::<O>())
}

fn main() {
    assert_eq!(input_and_output(Split), ("u32", "alloc::string::String"));
}
