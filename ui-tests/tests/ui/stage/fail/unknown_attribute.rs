use workflow_core::prelude::*;

#[stage(idd = "extract", retries = 3)]
async fn extract(input: String) -> Result<String, StageError> {
    Ok(input)
}

fn main() {}
