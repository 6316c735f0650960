//! `run.reapStuck` (reference §5.9).

use super::harness::{BackendFactory, Harness};
use crate::kernel::{JobExecute, RunReapStuck};
use crate::ports::Status;
use serde_json::json;
use std::time::Duration;

async fn reap(h: &Harness) -> crate::kernel::StuckRunsReaped {
    h.kernel
        .dispatch(RunReapStuck {
            stuck_threshold: Duration::from_secs(900),
        })
        .await
        .unwrap()
}

/// A run whose pending stage lost its job gets the job back instead of failing.
pub async fn lost_jobs_of_a_stuck_run_are_requeued(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let mut tx = h.backend.persistence.begin().await.unwrap();
    h.backend
        .jobs
        .cancel_by_run(&mut *tx, &run_id, h.clock_now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(reap(&h).await.requeued, 0, "not stuck before the threshold");
    h.advance(Duration::from_secs(901));
    let reaped = reap(&h).await;
    assert_eq!((reaped.requeued, reaped.failed), (1, 0));
    assert_eq!(h.run(&run_id).await.status, Status::Running);
    assert_eq!(
        h.run(&run_id).await.updated_at,
        h.clock_now(),
        "the recovery counts as activity"
    );
    assert!(
        h.jobs(&run_id)
            .await
            .iter()
            .any(|j| j.status == Status::Pending && j.stage_id == "first")
    );
    assert_eq!(
        reap(&h).await,
        Default::default(),
        "a recovered run is not reaped again"
    );
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}

/// A run stuck with a running stage is failed with `STUCK_RUN_REAPED` and its jobs cancelled; a second
/// reap does nothing.
pub async fn stuck_runs_are_failed(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    // The stage is marked RUNNING, then its worker vanishes with the job.
    let mut tx = h.backend.persistence.begin().await.unwrap();
    let stage = tx.get_stage(&run_id, "first").await.unwrap().unwrap();
    let update = crate::ports::StageUpdate {
        status: Some(Status::Running),
        ..Default::default()
    };
    tx.update_stage(&stage.id, update, None, h.clock_now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    h.advance(Duration::from_secs(901));
    let reaped = reap(&h).await;
    assert_eq!(reaped.failed, 1);
    let run = h.run(&run_id).await;
    assert_eq!(run.status, Status::Failed);
    assert_eq!(
        run.output,
        Some(json!({ "error": {
            "code": "STUCK_RUN_REAPED",
            "message": "Run stuck for >900000ms with no activity",
            "stageStatuses": [{ "stageId": "first", "status": "RUNNING" }],
        } }))
    );
    let failed = h.outbox(&run_id).await.pop().unwrap();
    assert_eq!(
        (failed.event_type.as_str(), failed.payload["error"].clone()),
        (
            "workflow:failed",
            json!("Stuck run reaped after 900000ms inactivity")
        )
    );
    assert_eq!(h.jobs(&run_id).await[0].status, Status::Cancelled);
    assert_eq!(reap(&h).await, Default::default());
}

/// **DESIGN §5.7** — a run waiting on a suspended stage whose next poll is in the future is not stuck.
pub async fn design_difference_7_waiting_for_a_poll_is_not_stuck(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-batch", json!({ "value": 1 })).await;
    h.claim().await;
    h.run_next_job().await;
    let mut tx = h.backend.persistence.begin().await.unwrap();
    let stage = tx
        .get_stage(&run_id, "submit-batch")
        .await
        .unwrap()
        .unwrap();
    let far = crate::time::add(h.clock_now(), Duration::from_secs(3600));
    tx.update_stage(
        &stage.id,
        crate::ports::StageUpdate {
            next_poll_at: Some(Some(far)),
            ..Default::default()
        },
        None,
        h.clock_now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    h.advance(Duration::from_secs(1800));
    assert_eq!(reap(&h).await, Default::default());
    assert_eq!(h.run(&run_id).await.status, Status::Running);
}

/// A run whose stages all finished but that was never transitioned (a worker died in between) is advanced,
/// not failed.
pub async fn a_settled_stuck_run_is_advanced(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 2 })).await;
    h.claim().await;
    let job = h.dequeue().await.unwrap();
    h.kernel
        .dispatch(
            JobExecute::new(&run_id, "conformance-linear", "first", job.run_config())
                .with_lease(job.lease()),
        )
        .await
        .unwrap();
    h.backend
        .jobs
        .complete(&job.lease(), h.clock_now())
        .await
        .unwrap();
    // The worker dies before dispatching run.transition.
    h.advance(Duration::from_secs(901));
    let reaped = reap(&h).await;
    assert_eq!((reaped.advanced, reaped.failed), (1, 0));
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}
