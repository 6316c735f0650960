//! `run.cancel` (reference §5.4).

use super::fixtures::{release_gate, wait_until_gated};
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::hosts::execute_job;
use workflow_core::kernel::RunCancel;
use workflow_core::ports::Status;

/// Cancelling a pending run, and refusals for missing and finished runs.
pub async fn pending_runs_can_be_cancelled(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    let result = h
        .kernel
        .dispatch(RunCancel::new(&run_id).reason("user request"))
        .await
        .unwrap();
    assert!(result.cancelled);
    let run = h.run(&run_id).await;
    assert_eq!(
        (run.status, run.completed_at),
        (Status::Cancelled, Some(h.clock_now()))
    );
    let last = h.outbox(&run_id).await.pop().unwrap();
    assert_eq!(
        (last.event_type.as_str(), last.payload["reason"].clone()),
        ("workflow:cancelled", json!("user request"))
    );
    assert!(h.claim().await.claimed.is_empty());
    let again = h.kernel.dispatch(RunCancel::new(&run_id)).await.unwrap();
    assert!(!again.cancelled);
    assert_eq!(
        h.outbox(&run_id).await.len(),
        2,
        "a refused cancel emits nothing"
    );
    assert!(
        !h.kernel
            .dispatch(RunCancel::new("missing"))
            .await
            .unwrap()
            .cancelled
    );
}

/// Cancelling a running run cancels its unfinished stages and its queued jobs; a job already running is
/// left to finish (and is discarded as a ghost).
pub async fn running_runs_cancel_stages_and_queued_jobs(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-fanout", json!({ "gate": true }))
        .await;
    h.claim().await;
    let job = h.dequeue().await.unwrap();
    let (kernel, host, never) = (h.kernel.clone(), h.host.clone(), h.never.clone());
    let running = tokio::spawn(async move { execute_job(&kernel, &host, job, &never).await });
    wait_until_gated(&run_id).await;
    h.kernel.dispatch(RunCancel::new(&run_id)).await.unwrap();
    let stage = h.stage(&run_id, "first").await;
    assert_eq!(
        (stage.status, stage.completed_at, stage.next_poll_at),
        (Status::Cancelled, Some(h.clock_now()), None)
    );
    assert_eq!(
        h.jobs(&run_id).await[0].status,
        Status::Running,
        "a running job is not touched by the cancel"
    );
    release_gate(&run_id);
    running.await.unwrap();
    assert_eq!(h.run(&run_id).await.status, Status::Cancelled);
    assert!(
        h.jobs(&run_id)
            .await
            .iter()
            .all(|j| j.status != Status::Pending && j.status != Status::Running)
    );
}
