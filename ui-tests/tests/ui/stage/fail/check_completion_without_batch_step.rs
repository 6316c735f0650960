use workflow_core::prelude::*;

#[stage(check_completion = poll)]
async fn submit(input: String) -> Result<String, StageError> {
    Ok(input)
}

async fn poll(_ctx: &CheckContext, _state: String) -> Result<Completion<String>, StageError> {
    Ok(Completion::not_ready())
}

fn main() {}
