//! `run.reapStuck` (reference §5.9) and DESIGN §5.7 and §5.12: healthy runs are never reaped, stuck ones
//! are healed.

use super::fixtures::{release_gate, wait_until_gated};
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::hosts::execute_job;
use workflow_core::kernel::{JobExecute, RunReapStuck};
use workflow_core::ports::{JobEnd, Status};

async fn reap(h: &Harness) -> workflow_core::kernel::StuckRunsReaped {
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
    let mut tx = h.backend.store.begin().await.unwrap();
    tx.cancel_jobs_of_run(&run_id, h.clock_now()).await.unwrap();
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

/// A run whose stage is `RUNNING` but whose job is gone (another engine died between its writes) gets a
/// job for the stage again, and completes; it is not failed.
pub async fn a_running_stage_without_a_job_gets_one_back(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let mut tx = h.backend.store.begin().await.unwrap();
    let stage = tx.get_stage(&run_id, "first").await.unwrap().unwrap();
    let update = workflow_core::ports::StageUpdate {
        status: Some(Status::Running),
        ..Default::default()
    };
    tx.update_stage(&stage.id, update, None, h.clock_now())
        .await
        .unwrap();
    tx.cancel_jobs_of_run(&run_id, h.clock_now()).await.unwrap();
    tx.commit().await.unwrap();
    h.advance(Duration::from_secs(901));
    let reaped = reap(&h).await;
    assert_eq!((reaped.requeued, reaped.failed), (1, 0));
    assert_eq!(h.run(&run_id).await.status, Status::Running);
    assert_eq!(
        reap(&h).await,
        Default::default(),
        "a healed run is left alone"
    );
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}

/// **DESIGN §5.12** — the reaper never touches a healthy run, however long it has been quiet: not a stage
/// running under a live lease longer than the stuck threshold, not a run whose job waits in a backlog.
pub async fn design_difference_12_healthy_runs_are_never_reaped(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let long = h
        .create("conformance-linear", json!({ "gate": true }))
        .await;
    h.claim().await;
    // Later, so its job queues behind the long one's.
    h.advance(Duration::from_secs(1));
    let queued = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let job = h.dequeue().await.unwrap();
    assert_eq!(job.job().workflow_run_id, long);
    let (kernel, host, never) = (h.kernel.clone(), h.host.clone(), h.never.clone());
    let running = tokio::spawn(async move { execute_job(&kernel, &host, job, &never).await });
    wait_until_gated(&long).await;
    // Half an hour with nothing written: the stage is still working, the other run still waits in line.
    h.advance(Duration::from_secs(1800));
    assert_eq!(reap(&h).await, Default::default());
    for run_id in [&long, &queued] {
        assert_eq!(h.run(run_id).await.status, Status::Running);
    }
    release_gate(&long);
    running.await.unwrap();
    assert_eq!(h.stage(&long, "first").await.status, Status::Completed);
    assert_eq!(h.drive(&long).await.status, Status::Completed);
    assert_eq!(h.drive(&queued).await.status, Status::Completed);
}

/// **DESIGN §5.7** — a run waiting on a suspended stage whose next poll is in the future is not stuck.
pub async fn design_difference_7_waiting_for_a_poll_is_not_stuck(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-batch", json!({ "value": 1 })).await;
    h.claim().await;
    h.run_next_job().await;
    let mut tx = h.backend.store.begin().await.unwrap();
    let stage = tx
        .get_stage(&run_id, "submit-batch")
        .await
        .unwrap()
        .unwrap();
    let far = workflow_core::time::add(h.clock_now(), Duration::from_secs(3600));
    tx.update_stage(
        &stage.id,
        workflow_core::ports::StageUpdate {
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

/// A run whose stages all finished but that was never transitioned (an engine that transitions in a
/// separate step died in between) is advanced, not failed.
pub async fn a_settled_stuck_run_is_advanced(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 2 })).await;
    h.claim().await;
    let job = h.dequeue().await.unwrap();
    let lease = job.lease();
    let config = job.job().run_config();
    h.kernel
        .dispatch(JobExecute::new(
            &run_id,
            "conformance-linear",
            "first",
            config,
        ))
        .await
        .unwrap();
    h.session()
        .await
        .end_job(&lease, &JobEnd::Complete, h.clock_now())
        .await
        .unwrap();
    // The worker dies before it transitions the run.
    h.advance(Duration::from_secs(901));
    let reaped = reap(&h).await;
    assert_eq!((reaped.advanced, reaped.failed), (1, 0));
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}
