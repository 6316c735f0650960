use workflow_core::prelude::*;

#[stage]
async fn step(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    W = "has space" {
        nmae: "W",
        stage: step,
        stages: step,
    }
}

fn main() {}
