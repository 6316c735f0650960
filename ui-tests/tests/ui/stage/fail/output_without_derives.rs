// The output type of `summarize` derives neither serde's traits nor `JsonSchema`.
use workflow_core::prelude::*;

pub struct Summary {
    pub text: String,
}

#[stage]
async fn summarize(input: String) -> Result<Summary, StageError> {
    Ok(Summary { text: input })
}

fn main() {}
