//! The deliberate differences from the reference (DESIGN §5) that run-time behaviour shows. §5.7 and §5.8
//! live with their commands (`reap_stuck`, `leases`); §5.2 is covered by the compile-fail UI tests.

use super::fixtures;
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::kernel::JobOutcome;
use workflow_core::kernel::RunCancel;
use workflow_core::ports::Status;
use workflow_core::ports::{Clock, NewJob};
use workflow_core::time::add;

/// **DESIGN §5.1** — stage outputs are checked by their Rust type: an output that cannot be read back as
/// its type is refused, and a stored output of the wrong shape is reported when read.
pub async fn design_difference_1_outputs_are_checked_by_type(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 1 })).await;
    h.claim().await;
    h.run_next_job().await;
    let key =
        workflow_core::ports::blob_keys::stage_key("conformance-linear", &run_id, "first", None);
    h.kernel
        .blob_store()
        .put(&key, &json!({ "value": 1.5 }))
        .await
        .unwrap();
    h.run_next_job().await;
    let stage = h.stage(&run_id, "second").await;
    assert_eq!(stage.status, Status::Failed);
    assert!(
        stage
            .error_message
            .unwrap()
            .starts_with("InvalidInput: invalid input for stage second: at `value`")
    );
}

/// **DESIGN §5.3** — a stage that succeeds on retry no longer carries the previous attempt's error.
pub async fn design_difference_3_success_clears_the_old_error(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-linear", json!({ "failTimes": 1 }))
        .await;
    h.claim().await;
    h.run_next_job().await;
    assert_eq!(
        h.stage(&run_id, "first").await.error_message.as_deref(),
        Some("scripted failure 1")
    );
    let run = h.drive(&run_id).await;
    assert_eq!(run.status, Status::Completed);
    let stage = h.stage(&run_id, "first").await;
    assert_eq!(
        (stage.status, stage.error_message),
        (Status::Completed, None)
    );
}

/// **DESIGN §5.4** — a suspended stage that fails in polling also fails its `SUSPENDED` job row.
pub async fn design_difference_4_failed_polls_fail_the_job(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-batch",
            json!({ "value": 1, "batchFails": true }),
        )
        .await;
    h.claim().await;
    h.run_next_job().await;
    h.advance(Duration::from_secs(30));
    h.kernel
        .dispatch(workflow_core::kernel::StagePollSuspended::default())
        .await
        .unwrap();
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!(job.status, Status::Failed, "no job stays SUSPENDED forever");
}

/// **DESIGN §5.5** — retries back off exponentially on every backend (this one included).
pub async fn design_difference_5_retries_back_off(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-linear", json!({ "failTimes": 2 }))
        .await;
    h.claim().await;
    h.run_next_job().await;
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!(
        job.next_poll_at,
        Some(add(h.clock_now(), h.host.retry.ceiling(1)))
    );
    assert!(
        h.dequeue().await.is_none(),
        "an immediate re-delivery would mean no backoff"
    );
}

/// **DESIGN §5.6** — jobs of a run that fails or is cancelled never stay claimable.
pub async fn design_difference_6_jobs_of_finished_runs_are_not_claimable(
    factory: &dyn BackendFactory,
) {
    let h = Harness::new(factory).await;
    let failing = h
        .create(
            "conformance-fanout",
            json!({ "failTimes": 1, "fatal": true }),
        )
        .await;
    h.claim().await;
    // A second job of the run is queued (as a redelivery or a parallel sibling would be).
    h.advance(Duration::from_millis(1));
    let extra = NewJob {
        workflow_run_id: failing.clone(),
        workflow_id: "conformance-fanout".into(),
        stage_id: "left".into(),
        priority: 5,
        payload: json!({ "config": {} }),
    };
    let mut tx = h.backend.store.begin().await.unwrap();
    tx.enqueue_jobs(vec![extra], h.clock_now()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(h.run_next_job().await.unwrap().outcome, JobOutcome::Failed);
    assert_eq!(h.run(&failing).await.status, Status::Failed);
    assert!(
        h.jobs(&failing)
            .await
            .iter()
            .all(|j| j.status != Status::Pending),
        "queued jobs of a failed run are cancelled"
    );
    assert!(h.dequeue().await.is_none());

    let cancelled = h.create("conformance-fanout", json!({})).await;
    h.claim().await;
    h.kernel.dispatch(RunCancel::new(&cancelled)).await.unwrap();
    assert!(h.dequeue().await.is_none());
}

/// **DESIGN §5.9** — the run's duration is measured on one clock (the kernel's) at both ends.
pub async fn design_difference_9_duration_uses_one_clock(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.advance(Duration::from_millis(3_250));
    let run = h.drive(&run_id).await;
    let expected = (run.completed_at.unwrap() - run.created_at).num_milliseconds() as i32;
    assert_eq!(run.duration, Some(expected));
    assert!(expected >= 3_250);
    assert_eq!(
        run.created_at,
        crate::FakeClock::new().now(),
        "createdAt comes from the kernel clock"
    );
    assert_eq!(fixtures::executions(&run_id, "first"), 1);
}

/// A host run end to end: each job outcome is reported.
pub async fn job_outcomes_are_reported(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let outcomes: Vec<JobOutcome> = h.drain().await.into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [JobOutcome::Completed; 3]);
}
