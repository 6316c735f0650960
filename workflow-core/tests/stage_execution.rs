//! The type-erased stage adapter (what the engine runs) and the stage context, exercised through
//! `StageHandle` and the `StageRun` test helper.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use workflow_core::prelude::*;
use workflow_core::{
    CheckOutcome, Recorder, StageEnv, StageHandle, StageRunInfo, StageStorage, StepOutcome,
};
use workflow_testing::{InMemoryBlobStore, StageRun};

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Doc {
    title: String,
    pages: u32,
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(default)]
struct CountConfig {
    factor: u32,
}

impl Default for CountConfig {
    fn default() -> Self {
        CountConfig { factor: 1 }
    }
}

#[stage]
async fn load(input: Doc) -> Result<Doc, StageError> {
    Ok(input)
}

#[stage]
async fn count(ctx: &StageContext, input: Doc, config: CountConfig) -> Result<u32, StageError> {
    ctx.warn("counting");
    ctx.progress(0.5, "half");
    ctx.progress(7.0, "clamped");
    ctx.annotate("pages", input.pages);
    ctx.record_usage(0.25, 10);
    ctx.set_metric("custom", "yes");
    ctx.save_artifact("raw", &input);
    Ok(input.pages * config.factor)
}

#[stage]
async fn peek(ctx: &StageContext) -> Result<Option<u32>, StageError> {
    Ok(ctx.optional::<count>().copied())
}

#[stage]
async fn nan() -> Result<f64, StageError> {
    Ok(f64::NAN)
}

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Batch {
    id: String,
}

#[stage(check_completion = poll)]
async fn submit(ctx: &StageContext, input: u32) -> Result<BatchStep<u32, Batch>, StageError> {
    if let Some(state) = ctx.resume_state() {
        return Ok(BatchStep::Done(state.id.len() as u32));
    }
    if input == 0 {
        return Ok(BatchStep::Done(0));
    }
    Ok(Suspend::new(Batch {
        id: format!("batch-{input}"),
    })
    .poll_every(Duration::from_secs(5))
    .into())
}

async fn poll(ctx: &CheckContext, state: Batch) -> Result<Completion<u32>, StageError> {
    let config: CountConfig = ctx.config()?;
    ctx.info(format!("polling {}", state.id));
    match state.id.as_str() {
        "batch-1" => Ok(Completion::Ready(config.factor)),
        "batch-2" => Ok(Completion::check_again_in(Duration::from_secs(9))),
        _ => Ok(Completion::Failed("provider lost the batch".into())),
    }
}

fn env(config: Value) -> Arc<StageEnv> {
    let info = StageRunInfo {
        workflow_run_id: "run-1".into(),
        stage_id: "s".into(),
        ..Default::default()
    };
    let storage = StageStorage::new(Arc::new(InMemoryBlobStore::new()), "wf", "run-1");
    Arc::new(StageEnv::new(info, storage, Recorder::new()).with_raw_config(config))
}

#[tokio::test]
async fn the_adapter_decodes_input_and_config_and_encodes_the_output() {
    let handle = StageHandle::of::<count>();
    let env = env(json!({ "factor": 3 }));
    let outcome = handle
        .execute(env.clone(), json!({ "title": "t", "pages": 4 }))
        .await
        .unwrap();
    assert_eq!(outcome, StepOutcome::Done(json!(12)));
    let recorded = env.recorder().take();
    assert_eq!(recorded.logs[0].message, "counting");
    assert_eq!(
        recorded
            .progress
            .iter()
            .map(|p| p.progress)
            .collect::<Vec<_>>(),
        [0.5, 1.0]
    );
    assert_eq!(recorded.annotations[0].key, "pages");
    assert_eq!(recorded.metrics["totalCost"], 0.25);
    assert_eq!(recorded.metrics["totalTokens"], 10);
    assert_eq!(recorded.metrics["custom"], "yes");
    assert_eq!(
        recorded.artifacts[0],
        ("raw".to_owned(), json!({ "title": "t", "pages": 4 }))
    );
}

#[tokio::test]
async fn invalid_input_and_config_fail_without_retry_and_name_the_field() {
    let handle = StageHandle::of::<count>();
    let error = handle
        .execute(env(json!({})), json!({ "title": "t", "pages": "four" }))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "InvalidInput: invalid input for stage count: at `pages`: invalid type: string \"four\", expected u32"
    );
    assert!(!error.is_retryable());
    let error = handle
        .execute(
            env(json!({ "factor": -1 })),
            json!({ "title": "t", "pages": 1 }),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "InvalidConfig: invalid config for stage count: at `factor`: invalid value: integer `-1`, expected u32"
    );
}

#[tokio::test]
async fn context_only_stages_ignore_their_input() {
    let outcome = StageHandle::of::<peek>()
        .execute(env(json!({})), json!("anything at all"))
        .await
        .unwrap();
    assert_eq!(outcome, StepOutcome::Done(Value::Null));
    assert!(StageHandle::of::<peek>().reads_context_only());
    assert!(!StageHandle::of::<count>().reads_context_only());
}

#[tokio::test]
async fn an_output_that_does_not_read_back_is_refused() {
    let error = StageHandle::of::<nan>()
        .execute(env(json!({})), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        "the output of stage nan does not read back as its own type: invalid type: null, expected f64"
    );
}

#[tokio::test]
async fn optional_reads_present_absent_and_undecodable_outputs() {
    let present = StageRun::new()
        .with_output::<count>(&5)
        .execute::<peek>((), NoConfig {})
        .await;
    assert_eq!(present.output().unwrap(), &Some(5));
    let absent = StageRun::new().execute::<peek>((), NoConfig {}).await;
    assert_eq!(absent.output().unwrap(), &None);
    let corrupt = StageRun::new()
        .with_raw_output("count", json!("five"))
        .execute::<peek>((), NoConfig {})
        .await;
    assert_eq!(corrupt.output().unwrap(), &None);
    assert_eq!(
        corrupt.recorded.logs[0].message,
        "stage peek could not read the output of stage count: invalid type: string \"five\", expected u32"
    );
}

#[tokio::test]
async fn batch_stages_suspend_with_typed_state_and_resume() {
    let handle = StageHandle::of::<submit>();
    assert_eq!(handle.mode(), workflow_core::StageMode::AsyncBatch);
    match handle.execute(env(json!({})), json!(7)).await.unwrap() {
        StepOutcome::Suspend { state, poll } => {
            assert_eq!(state, json!({ "id": "batch-7" }));
            assert_eq!(poll.poll_interval, Duration::from_secs(5));
            assert_eq!(poll.max_wait, Duration::from_secs(86_400));
        }
        other => panic!("expected a suspension, got {other:?}"),
    }
    assert_eq!(
        handle.execute(env(json!({})), json!(0)).await.unwrap(),
        StepOutcome::Done(json!(0))
    );

    let resumed = StageRun::new()
        .resume_state(Batch { id: "abc".into() })
        .execute::<submit>(9, NoConfig {})
        .await;
    assert_eq!(resumed.output().unwrap(), &3);
    let bad_state = StageRun::new()
        .resume_state(json!({ "nope": 1 }))
        .execute::<submit>(9, NoConfig {})
        .await;
    assert!(
        bad_state
            .output()
            .unwrap_err()
            .message()
            .starts_with("the resume state does not match")
    );
}

#[tokio::test]
async fn check_completion_outcomes() {
    let handle = StageHandle::of::<submit>();
    let env_factor = env(json!({ "factor": 4 }));
    assert_eq!(
        handle
            .check_completion(env_factor.clone(), json!({ "id": "batch-1" }))
            .await
            .unwrap(),
        CheckOutcome::Ready(json!(4))
    );
    assert_eq!(
        env_factor.recorder().take().logs[0].message,
        "polling batch-1"
    );
    assert_eq!(
        handle
            .check_completion(env(json!({})), json!({ "id": "batch-2" }))
            .await
            .unwrap(),
        CheckOutcome::NotReady {
            next_check_in: Some(Duration::from_secs(9))
        }
    );
    assert_eq!(
        handle
            .check_completion(env(json!({})), json!({ "id": "x" }))
            .await
            .unwrap(),
        CheckOutcome::Failed("provider lost the batch".into())
    );
    let error = handle
        .check_completion(env(json!({})), json!({ "id": 1 }))
        .await
        .unwrap_err();
    assert!(
        error
            .message()
            .starts_with("the suspended state of stage submit does not match its state type")
    );
    // Sync stages refuse to be polled.
    let error = StageHandle::of::<count>()
        .check_completion(env(json!({})), Value::Null)
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        "Stage count does not support checkCompletion"
    );
}

#[tokio::test]
async fn stage_storage_saves_loads_and_reports_missing_blobs() {
    #[stage]
    async fn store(ctx: &StageContext, input: Doc) -> Result<Doc, StageError> {
        let key = ctx.storage().stage_key(ctx.stage_id(), Some("copy.json"));
        ctx.storage().save(&key, &input).await?;
        assert!(ctx.storage().exists(&key).await?);
        let copy: Doc = ctx.storage().load(&key).await?;
        ctx.storage().delete(&key).await?;
        ctx.storage().delete(&key).await?;
        let missing = ctx.storage().load::<Doc>(&key).await.unwrap_err();
        assert_eq!(missing.message(), format!("Blob not found: {key}"));
        Ok(copy)
    }
    let blobs = Arc::new(InMemoryBlobStore::new());
    let doc = Doc {
        title: "t".into(),
        pages: 2,
    };
    let report = StageRun::new()
        .blob_store(blobs.clone())
        .execute::<store>(doc, NoConfig {})
        .await;
    assert_eq!(
        report.output().unwrap(),
        &Doc {
            title: "t".into(),
            pages: 2
        }
    );
    assert!(blobs.keys().is_empty());
}

#[tokio::test]
async fn stage_errors_pass_through_with_their_retry_hint() {
    #[stage]
    async fn flaky(input: u32) -> Result<u32, StageError> {
        match input {
            0 => Err(StageError::retryable("timeout")),
            1 => Err(StageError::fatal("bad document")),
            _ => Ok(input),
        }
    }
    let handle = StageHandle::of::<flaky>();
    assert!(
        handle
            .execute(env(json!({})), json!(0))
            .await
            .unwrap_err()
            .is_retryable()
    );
    assert!(
        !handle
            .execute(env(json!({})), json!(1))
            .await
            .unwrap_err()
            .is_retryable()
    );
}
