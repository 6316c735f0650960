//! `job.execute` (reference §5.6).

use super::fixtures::{self, release_gate, wait_until_gated};
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::hosts::execute_job;
use workflow_core::kernel::{JobExecute, JobExecuted, JobOutcome, RunCancel};
use workflow_core::ports::Status;
use workflow_core::ports::blob_keys as keys;

/// A job of a run that is not `RUNNING` is a ghost: nothing is written.
pub async fn a_job_of_a_run_that_is_not_running_is_a_ghost(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    let pending = h
        .kernel
        .dispatch(JobExecute::new(
            &run_id,
            "conformance-linear",
            "first",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(pending.outcome, JobOutcome::Ghost);
    // Stored (idempotent results) in the reference's shape: a failure flagged as a ghost.
    let stored = serde_json::to_value(&pending).unwrap();
    assert_eq!(
        (&stored["outcome"], &stored["ghost"]),
        (&json!("failed"), &json!(true))
    );
    assert_eq!(
        serde_json::from_value::<JobExecuted>(stored).unwrap(),
        pending
    );
    assert_eq!(
        pending.error.as_deref(),
        Some(format!("Run {run_id} is PENDING, expected RUNNING — ghost job discarded").as_str())
    );
    assert!(h.stages(&run_id).await.is_empty());
    assert_eq!(h.event_types(&run_id).await, ["workflow:created"]);
    let unknown = h
        .kernel
        .dispatch(JobExecute::new(
            &run_id,
            "conformance-linear",
            "nope",
            json!({}),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "Stage nope not found in workflow conformance-linear"
    );
    let no_workflow = h
        .kernel
        .dispatch(JobExecute::new(&run_id, "nope", "first", json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        no_workflow.to_string(),
        "Workflow nope not found in registry"
    );
    let no_run = h
        .kernel
        .dispatch(JobExecute::new(
            "missing",
            "conformance-linear",
            "first",
            json!({}),
        ))
        .await
        .unwrap_err();
    assert_eq!(no_run.to_string(), "WorkflowRun missing not found");
}

/// A second delivery of a completed stage returns its output and writes nothing.
pub async fn a_completed_stage_is_not_executed_again(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 5 })).await;
    h.claim().await;
    h.run_next_job().await;
    let events = h.outbox(&run_id).await.len();
    let again = h
        .kernel
        .dispatch(JobExecute::new(
            &run_id,
            "conformance-linear",
            "first",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(again.outcome, JobOutcome::Completed);
    assert_eq!(again.output.unwrap()["value"], 10);
    assert_eq!(fixtures::executions(&run_id, "first"), 1);
    assert_eq!(h.outbox(&run_id).await.len(), events);
}

/// A stage whose previous group has no output fails without running, with the reference message.
pub async fn a_missing_previous_output_fails_the_stage(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let result = h
        .kernel
        .dispatch(JobExecute::new(
            &run_id,
            "conformance-linear",
            "second",
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(result.outcome, JobOutcome::Failed);
    assert_eq!(result.retryable, Some(false));
    let message = "Stage second (execution group 2) is missing the output of execution group 1 — cannot resolve input";
    assert_eq!(result.error.as_deref(), Some(message));
    let stage = h.stage(&run_id, "second").await;
    assert_eq!(
        (
            stage.status,
            stage.error_message.as_deref(),
            stage.execution_group,
            stage.stage_number
        ),
        (Status::Failed, Some(message), 2, 2)
    );
    assert_eq!(
        h.event_types(&run_id).await[2..],
        ["stage:started", "stage:failed"]
    );
}

/// A config entry that does not decode as the stage's config type fails without retry, naming the field.
pub async fn invalid_stage_config_is_not_retried(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 1 })).await;
    h.claim().await;
    let mut job = h.dequeue().await.unwrap();
    job.override_run_config(json!({ "first": { "factor": "x" } }));
    let run = h.execute(job).await;
    assert_eq!(run.outcome, JobOutcome::Failed);
    assert_eq!(
        run.error.as_deref(),
        Some(
            "InvalidConfig: invalid config for stage first: at `factor`: invalid type: string \"x\", expected i64"
        )
    );
    assert_eq!(
        h.jobs(&run_id).await[0].status,
        Status::Failed,
        "invalid config is not retried"
    );
    assert_eq!(h.run(&run_id).await.status, Status::Failed);
}

/// A stored output that does not decode as the next stage's input type fails that stage without retry,
/// naming the field (outputs are checked by type on every path).
pub async fn an_output_of_the_wrong_shape_is_refused_as_input(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 1 })).await;
    h.claim().await;
    h.run_next_job().await;
    let key = keys::stage_key("conformance-linear", &run_id, "first", None);
    h.kernel
        .blob_store()
        .put(&key, &json!({ "value": "corrupted" }))
        .await
        .unwrap();
    let run = h.run_next_job().await.unwrap();
    assert_eq!(run.outcome, JobOutcome::Failed);
    assert_eq!(
        run.error.as_deref(),
        Some(
            "InvalidInput: invalid input for stage second: at `value`: invalid type: string \"corrupted\", expected i64"
        )
    );
    assert_eq!(h.run(&run_id).await.status, Status::Failed);
}

/// Logs are written with the stage record; progress events come before `stage:completed`; annotations are
/// stage-scoped; usage becomes the stage's metrics; artifacts are stored next to the output.
pub async fn stage_records_are_persisted_with_the_outcome(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-linear",
            json!({ "value": 3, "emitAnnotationEvent": true }),
        )
        .await;
    h.claim().await;
    h.run_next_job().await;
    let stage = h.stage(&run_id, "first").await;
    let logs = h.logs(&run_id).await;
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (logs[0].level.as_str(), logs[0].message.as_str()),
        ("INFO", "first execution 1")
    );
    assert_eq!(
        logs[0].workflow_stage_id.as_deref(),
        Some(stage.id.as_str())
    );
    assert_eq!(logs[0].metadata, Some(json!({ "label": "x" })));
    let types = h.event_types(&run_id).await;
    assert_eq!(
        types[2..],
        [
            "stage:started",
            "stage:progress",
            "stage:progress",
            "stage:completed",
            "annotation:created"
        ]
    );
    let progress = &h.outbox(&run_id).await[3].payload;
    assert_eq!(
        (
            progress["progress"].clone(),
            progress["message"].clone(),
            progress["stageId"].clone()
        ),
        (json!(0.5), json!("halfway"), json!("first"))
    );
    let annotations = h.annotations(&run_id).await;
    assert_eq!(annotations.len(), 1);
    let a = &annotations[0];
    assert_eq!(
        (
            a.key.as_str(),
            a.scope.as_str(),
            a.scope_id.as_deref(),
            a.attempt
        ),
        ("fixture.execution", "stage", Some("first"), 0)
    );
    assert_eq!(
        a.workflow_stage_record_id.as_deref(),
        Some(stage.id.as_str())
    );
    let metrics = stage.metrics.unwrap();
    assert_eq!(
        (metrics["totalCost"].clone(), metrics["totalTokens"].clone()),
        (json!(0.5), json!(100))
    );
    let output_key = keys::stage_key("conformance-linear", &run_id, "first", None);
    let artifact_key =
        keys::artifact_key("conformance-linear", &run_id, "first", "raw input", None);
    assert!(artifact_key.ends_with("/first/artifacts/raw%20input.json"));
    assert_eq!(
        stage.output_data,
        Some(json!({ "_artifactKey": output_key, "_artifactKeys": { "raw input": artifact_key } }))
    );
    assert_eq!(h.blob(&output_key).await.unwrap()["value"], 6);
    assert_eq!(h.blob(&artifact_key).await.unwrap()["value"], 3);
    assert_eq!(stage.status, Status::Completed);
    assert_eq!(stage.completed_at, Some(h.clock_now()));
}

/// A run cancelled while its stage runs discards the stage's result as a ghost.
pub async fn a_result_finished_after_cancel_is_discarded(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-linear",
            json!({ "gate": true, "emitAnnotationEvent": true }),
        )
        .await;
    h.claim().await;
    let job = h.dequeue().await.unwrap();
    let (kernel, host, never) = (h.kernel.clone(), h.host.clone(), h.never.clone());
    let running = tokio::spawn(async move { execute_job(&kernel, &host, job, &never).await });
    wait_until_gated(&run_id).await;
    assert_eq!(
        h.stage(&run_id, "first").await.status,
        Status::Running,
        "phase 1 commits before the body runs"
    );
    assert!(
        h.kernel
            .dispatch(RunCancel::new(&run_id))
            .await
            .unwrap()
            .cancelled
    );
    release_gate(&run_id);
    let run = running.await.unwrap();
    assert_eq!(run.outcome, JobOutcome::Ghost);
    assert_eq!(
        run.error.as_deref(),
        Some(
            format!("Run {run_id} was CANCELLED after stage execution — result discarded").as_str()
        )
    );
    assert_eq!(h.stage(&run_id, "first").await.status, Status::Cancelled);
    assert!(
        h.annotations(&run_id).await.is_empty(),
        "the ghost's annotations are dropped"
    );
    assert_eq!(
        h.jobs(&run_id).await[0].status,
        Status::Failed,
        "the host fails a ghost job without retry"
    );
}

/// A stage that panics fails (without retry) instead of taking the worker down.
pub async fn a_panicking_stage_fails(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-linear", json!({ "panic": true }))
        .await;
    let run = h.drive(&run_id).await;
    assert_eq!(run.status, Status::Failed);
    let stage = h.stage(&run_id, "first").await;
    let message = stage.error_message.unwrap();
    assert_eq!(
        message,
        format!("Panic: stage first panicked: scripted panic in run {run_id}")
    );
    assert_eq!(
        fixtures::executions(&run_id, "first"),
        1,
        "a panic is not retried"
    );
}
