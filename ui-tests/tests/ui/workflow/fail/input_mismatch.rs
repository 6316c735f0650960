use workflow_core::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct Extracted {
    text: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Summary {
    text: String,
}

#[stage]
async fn extract(input: String) -> Result<Extracted, StageError> {
    Ok(Extracted { text: input })
}

#[stage]
async fn publish(input: Summary) -> Result<String, StageError> {
    Ok(input.text)
}

workflow! {
    Doc { stages: extract >> publish }
}

fn main() {}
