use workflow_core::prelude::*;

#[stage]
async fn submit(input: String) -> Result<BatchStep<String, String>, StageError> {
    Ok(Suspend::new(input).into())
}

fn main() {}
