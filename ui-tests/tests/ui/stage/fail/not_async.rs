use workflow_core::prelude::*;

#[stage]
fn extract(input: String) -> Result<String, StageError> {
    Ok(input)
}

fn main() {}
