//! `run.rerunFrom` (reference §5.5).

use super::fixtures;
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::kernel::{KernelError, RunRerunFrom};
use workflow_core::ports::Status;
use workflow_core::ports::blob_keys as keys;

/// The refusals, with the reference messages.
pub async fn rerun_refusals(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let missing = h
        .kernel
        .dispatch(RunRerunFrom::new("missing", "first"))
        .await
        .unwrap_err();
    assert_eq!(missing.to_string(), "WorkflowRun missing not found");
    let run_id = h.create("conformance-linear", json!({})).await;
    let pending = h
        .kernel
        .dispatch(RunRerunFrom::new(&run_id, "first"))
        .await
        .unwrap_err();
    assert!(matches!(
        pending,
        KernelError::RerunNotAllowed(Status::Pending)
    ));
    assert_eq!(
        pending.to_string(),
        "Cannot rerun workflow in PENDING state. Must be COMPLETED or FAILED."
    );
    h.drive(&run_id).await;
    let unknown = h
        .kernel
        .dispatch(RunRerunFrom::new(&run_id, "nope"))
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "Stage nope not found in workflow conformance-linear"
    );

    let failed_early = h
        .create(
            "conformance-linear",
            json!({ "failTimes": 1, "fatal": true }),
        )
        .await;
    h.drive(&failed_early).await;
    let without_previous = h
        .kernel
        .dispatch(RunRerunFrom::new(&failed_early, "third"))
        .await;
    // Group 1 exists (failed), so a rerun from group 3 is allowed by the reference's rule; from a run with
    // no earlier rows it is refused:
    assert!(without_previous.is_ok());
    let bare = h
        .create(
            "conformance-linear",
            json!({ "failTimes": 1, "fatal": true }),
        )
        .await;
    h.drive(&bare).await;
    let mut tx = h.backend.store.begin().await.unwrap();
    tx.delete_stages_from_group(&bare, 1).await.unwrap();
    tx.commit().await.unwrap();
    let error = h
        .kernel
        .dispatch(RunRerunFrom::new(&bare, "second"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Cannot rerun from stage second: previous stages have not been executed"
    );
}

/// A rerun deletes the target group and later groups (and their blobs), resets the run, recreates the
/// target group with attempt + 1, and the new attempt propagates to later groups.
pub async fn rerun_restarts_from_a_group(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 1 })).await;
    h.drive(&run_id).await;
    let third_key = keys::stage_key("conformance-linear", &run_id, "third", None);
    assert!(h.blob(&third_key).await.is_some());
    let first_row = h.stage(&run_id, "first").await;

    let rerun = h
        .kernel
        .dispatch(RunRerunFrom::new(&run_id, "second"))
        .await
        .unwrap();
    assert_eq!(rerun.deleted_stages, ["second", "third"]);
    let run = h.run(&run_id).await;
    assert_eq!(
        (
            run.status,
            run.started_at,
            run.completed_at,
            run.duration,
            run.output.clone()
        ),
        (Status::Running, Some(h.clock_now()), None, None, None)
    );
    assert_eq!((run.total_cost, run.total_tokens), (0.0, 0));
    let stages = h.stages(&run_id).await;
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0], first_row, "earlier groups are kept as they were");
    assert_eq!(
        (
            stages[1].stage_id.as_str(),
            stages[1].status,
            stages[1].attempt
        ),
        ("second", Status::Pending, 1)
    );
    assert!(
        h.blob(&third_key).await.is_none(),
        "blobs of deleted stages are removed"
    );
    assert_eq!(
        h.outbox(&run_id).await.pop().unwrap().event_type,
        "workflow:started"
    );

    let done = h.drive(&run_id).await;
    assert_eq!(
        (done.status, done.output.clone()),
        (Status::Completed, Some(json!("value=3")))
    );
    assert_eq!(
        h.stage(&run_id, "third").await.attempt,
        1,
        "the attempt propagates downstream"
    );
    assert_eq!(
        fixtures::executions(&run_id, "first"),
        1,
        "earlier outputs are reused"
    );

    h.kernel
        .dispatch(RunRerunFrom::new(&run_id, "first"))
        .await
        .unwrap();
    assert_eq!(h.stage(&run_id, "first").await.attempt, 2);
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}
