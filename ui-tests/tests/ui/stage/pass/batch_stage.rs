// An async-batch stage: the body suspends with a typed state and `check_completion` polls it.
use std::time::Duration;
use workflow_core::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
struct BatchState {
    batch_id: String,
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Embeddings {
    vectors: Vec<Vec<f32>>,
}

/// Submits documents to a batch embedding API.
#[stage(check_completion = poll_batch)]
async fn embed(ctx: &StageContext, input: Vec<String>) -> Result<BatchStep<Embeddings, BatchState>, StageError> {
    if let Some(state) = ctx.resume_state() {
        ctx.info(format!("resuming {}", state.batch_id));
    }
    if input.is_empty() {
        return Ok(BatchStep::Done(Embeddings { vectors: vec![] }));
    }
    Ok(Suspend::new(BatchState { batch_id: "b-1".into() }).poll_every(Duration::from_secs(60)).into())
}

async fn poll_batch(ctx: &CheckContext, state: BatchState) -> Result<Completion<Embeddings>, StageError> {
    ctx.info(format!("polling {}", state.batch_id));
    Ok(Completion::not_ready())
}

fn main() {
    assert_eq!(<embed as Stage>::MODE, workflow_core::StageMode::AsyncBatch);
    let _: Option<BatchState> = None::<<embed as Stage>::State>;
}
