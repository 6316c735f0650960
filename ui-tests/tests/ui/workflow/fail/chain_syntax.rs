use workflow_core::prelude::*;

#[stage]
async fn a(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage]
async fn b(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    Unparenthesized { stages: a | b }
}

workflow! {
    Nested { stages: (a >> b) }
}

fn main() {}
