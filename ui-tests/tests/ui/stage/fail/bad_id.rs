use workflow_core::prelude::*;

#[stage(id = "extract text")]
async fn extract(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage(id = "a/b")]
async fn slashed(input: String) -> Result<String, StageError> {
    Ok(input)
}

#[stage(id = "")]
async fn empty(input: String) -> Result<String, StageError> {
    Ok(input)
}

fn main() {}
