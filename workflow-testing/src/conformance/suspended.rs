//! Async-batch stages and `stage.pollSuspended` (reference §5.6 suspend path, §5.7).

use super::fixtures;
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::kernel::JobOutcome;
use workflow_core::kernel::{RunCancel, RunTransition, StagePollSuspended, TransitionAction};
use workflow_core::ports::Status;
use workflow_core::time::{add, to_js_iso};

async fn poll(h: &Harness) -> workflow_core::kernel::SuspendedPolled {
    h.kernel
        .dispatch(StagePollSuspended::default())
        .await
        .unwrap()
}

/// A stage suspends with its typed state, is polled when due, rescheduled while not ready, and completes.
pub async fn a_suspended_stage_resumes_when_ready(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-batch",
            json!({ "value": 5, "pollsUntilReady": 1 }),
        )
        .await;
    h.claim().await;
    assert_eq!(
        h.run_next_job().await.unwrap().outcome,
        JobOutcome::Suspended
    );
    let suspended_at = h.clock_now();
    let stage = h.stage(&run_id, "submit-batch").await;
    assert_eq!(stage.status, Status::Suspended);
    assert_eq!(
        stage.suspended_state.as_ref().unwrap()["script"]["value"],
        5
    );
    assert_eq!(
        stage.next_poll_at,
        Some(add(suspended_at, Duration::from_secs(30)))
    );
    assert_eq!(stage.poll_interval, Some(30_000));
    assert_eq!(
        stage.max_wait_until,
        Some(add(suspended_at, Duration::from_secs(600)))
    );
    assert_eq!(h.jobs(&run_id).await[0].status, Status::Suspended);
    assert_eq!(
        h.run(&run_id).await.status,
        Status::Running,
        "a run never becomes SUSPENDED"
    );
    let outbox = h.outbox(&run_id).await;
    let types: Vec<&str> = outbox.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types[2..],
        ["stage:started", "stage:suspended", "workflow:suspended"]
    );
    assert_eq!(
        outbox[3].payload["nextPollAt"],
        to_js_iso(add(suspended_at, Duration::from_secs(30)))
    );
    assert_eq!(
        h.kernel
            .dispatch(RunTransition::new(&run_id))
            .await
            .unwrap()
            .action,
        TransitionAction::Noop
    );

    assert_eq!(poll(&h).await.checked, 0, "not due yet");
    h.advance(Duration::from_secs(30));
    let first = poll(&h).await;
    assert_eq!((first.checked, first.resumed, first.failed), (1, 0, 0));
    assert_eq!(
        h.stage(&run_id, "submit-batch").await.next_poll_at,
        Some(add(h.clock_now(), Duration::from_secs(30)))
    );
    h.advance(Duration::from_secs(30));
    let second = poll(&h).await;
    assert_eq!(
        (
            second.checked,
            second.resumed,
            second.resumed_workflow_run_ids.clone()
        ),
        (1, 1, vec![run_id.clone()])
    );
    let stage = h.stage(&run_id, "submit-batch").await;
    assert_eq!(
        (stage.status, stage.next_poll_at, stage.duration),
        (Status::Completed, None, Some(60_000))
    );
    assert_eq!(stage.metrics.unwrap()["totalCost"], 0.25);
    assert_eq!(
        h.jobs(&run_id).await[0].status,
        Status::Completed,
        "the suspended job completes with its stage"
    );
    assert_eq!(
        h.logs(&run_id)
            .await
            .iter()
            .filter(|l| l.message.starts_with("poll "))
            .count(),
        2
    );
    // The resumed stage's transaction advanced the run (DESIGN §5.11): the next group is queued.
    assert_eq!(
        h.stage(&run_id, "after-batch").await.status,
        Status::Pending,
        "the poll that completed the stage started the next group"
    );
    assert_eq!(
        h.kernel
            .dispatch(RunTransition::new(&run_id))
            .await
            .unwrap()
            .action,
        TransitionAction::Noop
    );
    let run = h.drive(&run_id).await;
    assert_eq!(
        (run.status, run.output.clone().unwrap()["value"].clone()),
        (Status::Completed, json!(106))
    );
    assert_eq!(
        fixtures::executions(&run_id, "submit_batch"),
        1,
        "the body runs once; polling finishes it"
    );
}

/// A batch that reports failure fails its stage, its run and its job together.
pub async fn a_failed_check_fails_stage_run_and_job(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-batch",
            json!({ "value": 5, "batchFails": true }),
        )
        .await;
    h.claim().await;
    h.run_next_job().await;
    h.advance(Duration::from_secs(30));
    let polled = poll(&h).await;
    assert_eq!((polled.checked, polled.failed), (1, 1));
    let stage = h.stage(&run_id, "submit-batch").await;
    assert_eq!(
        (
            stage.status,
            stage.error_message.as_deref(),
            stage.next_poll_at
        ),
        (Status::Failed, Some("provider rejected the batch"), None)
    );
    let run = h.run(&run_id).await;
    assert_eq!(
        (run.status, run.completed_at),
        (Status::Failed, Some(h.clock_now()))
    );
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!(
        (job.status, job.last_error.as_deref()),
        (Status::Failed, Some("provider rejected the batch"))
    );
    let types = h.event_types(&run_id).await;
    assert_eq!(
        types[types.len() - 3..],
        ["stage:failed", "workflow:failed", "annotation:created"]
    );
}

/// A stage still not ready at `maxWaitUntil` fails with the reference message.
pub async fn a_stage_past_its_max_wait_fails(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-batch",
            json!({ "value": 5, "pollsUntilReady": 1000 }),
        )
        .await;
    h.claim().await;
    h.run_next_job().await;
    let deadline = h
        .stage(&run_id, "submit-batch")
        .await
        .max_wait_until
        .unwrap();
    h.advance(Duration::from_secs(600));
    poll(&h).await;
    let stage = h.stage(&run_id, "submit-batch").await;
    let message = format!(
        "Stage submit-batch exceeded maxWaitUntil ({}) while suspended",
        to_js_iso(deadline)
    );
    assert_eq!(stage.error_message.as_deref(), Some(message.as_str()));
    assert_eq!(h.run(&run_id).await.status, Status::Failed);
}

/// A suspended stage of a cancelled run is cancelled when it comes due, without being polled.
pub async fn a_cancelled_runs_suspended_stage_is_cancelled(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-batch", json!({ "value": 5 })).await;
    h.claim().await;
    h.run_next_job().await;
    assert_eq!(h.jobs(&run_id).await[0].status, Status::Suspended);
    h.kernel.dispatch(RunCancel::new(&run_id)).await.unwrap();
    assert_eq!(
        h.stage(&run_id, "submit-batch").await.status,
        Status::Cancelled
    );
    assert_eq!(
        h.jobs(&run_id).await[0].status,
        Status::Cancelled,
        "run.cancel cancels suspended jobs"
    );
    h.advance(Duration::from_secs(30));
    assert_eq!(
        poll(&h).await.checked,
        0,
        "a cancelled stage is no longer due"
    );
    assert_eq!(fixtures::executions(&run_id, "check_batch"), 0);
}

/// Annotations made while not ready are kept, and requested events are emitted for them too (the reference
/// dropped those events).
pub async fn not_ready_annotations_are_kept_with_their_events(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-batch",
            json!({ "value": 5, "pollsUntilReady": 5 }),
        )
        .await;
    h.claim().await;
    h.run_next_job().await;
    h.advance(Duration::from_secs(30));
    poll(&h).await;
    let annotations = h.annotations(&run_id).await;
    assert_eq!(annotations.len(), 1);
    assert_eq!(
        (annotations[0].key.as_str(), annotations[0].value.clone()),
        ("batch.poll", json!(1))
    );
    assert_eq!(
        h.outbox(&run_id).await.pop().unwrap().event_type,
        "annotation:created"
    );
}
