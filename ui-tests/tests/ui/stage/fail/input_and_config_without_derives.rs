// The input and config types of `extract` are plain structs: each gets one error naming the stage and
// the derives it needs.
use workflow_core::prelude::*;

pub struct Document {
    pub url: String,
}

#[derive(Default)]
pub struct ExtractConfig {
    pub max_length: usize,
}

#[stage]
async fn extract(input: Document, config: ExtractConfig) -> Result<String, StageError> {
    Ok(input.url.chars().take(config.max_length).collect())
}

fn main() {}
