// After `(left | right)` the next stage takes `(String, u32)` (or no input).
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
async fn right(input: u32) -> Result<u32, StageError> {
    Ok(input)
}

#[stage]
async fn join(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn swapped(input: (u32, String)) -> Result<String, StageError> {
    Ok(input.1)
}

workflow! {
    A { stages: start >> (left | right) >> join }
}

workflow! {
    B { stages: start >> (left | right) >> swapped }
}

fn main() {}
