use workflow_core::prelude::*;

struct Helper;

#[stage]
async fn step(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    W { stages: step >> Helper >> missing_stage }
}

fn main() {}
