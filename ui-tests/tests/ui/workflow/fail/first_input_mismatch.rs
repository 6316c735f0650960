use workflow_core::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct DocInput {
    url: String,
}

#[stage]
async fn extract(input: String) -> Result<String, StageError> {
    Ok(input)
}

workflow! {
    Doc {
        input: DocInput,
        stages: extract,
    }
}

fn main() {}
