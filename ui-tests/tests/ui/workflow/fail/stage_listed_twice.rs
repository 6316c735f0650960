use workflow_core::prelude::*;

#[stage]
async fn step(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn other(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    Twice { stages: step >> other >> step }
}

workflow! {
    TwiceInGroup { stages: step >> (other | other) }
}

fn main() {}
