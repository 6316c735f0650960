//! `lease.reapStale` (reference §5.8) and job fencing (DESIGN §5.8).

use super::fixtures::{self, release_gate, wait_until_gated};
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::hosts::execute_job;
use workflow_core::kernel::JobOutcome;
use workflow_core::kernel::LeaseReapStale;
use workflow_core::ports::Status;

async fn reap(h: &Harness) -> usize {
    h.kernel
        .dispatch(LeaseReapStale {
            stale_threshold: Duration::from_secs(300),
        })
        .await
        .unwrap()
        .released
}

/// A lease not refreshed for the threshold is released (attempt kept); a refreshed one survives.
pub async fn stale_leases_are_released(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let job = h.dequeue().await.unwrap();
    h.advance(Duration::from_secs(200));
    assert!(
        h.session()
            .await
            .touch_job(&job.lease(), h.clock_now())
            .await
            .unwrap(),
        "heartbeat of a held lease"
    );
    h.advance(Duration::from_secs(200));
    assert_eq!(reap(&h).await, 0, "a heartbeating job survives");
    h.advance(Duration::from_secs(101));
    assert_eq!(reap(&h).await, 1);
    let released = h.jobs(&run_id).await.remove(0);
    assert_eq!(
        (
            released.status,
            released.attempt,
            released.worker_id,
            released.locked_at
        ),
        (Status::Pending, 1, None, None)
    );
    let again = h.dequeue().await.unwrap();
    assert_eq!(
        again.job().attempt,
        2,
        "the next lease increments the attempt"
    );
}

/// **DESIGN §5.8** — a worker whose lease was released and re-taken cannot write its late result: its
/// writes carry the attempt it dequeued (the fencing token) and are refused; the new holder's result counts.
pub async fn design_difference_8_stale_workers_are_fenced(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-linear", json!({ "value": 1, "gate": true }))
        .await;
    h.claim().await;
    let stale_job = h.dequeue().await.unwrap();
    let (kernel, host, never) = (h.kernel.clone(), h.host.clone(), h.never.clone());
    let stale = tokio::spawn(async move { execute_job(&kernel, &host, stale_job, &never).await });
    wait_until_gated(&run_id).await;
    // The first worker stops heartbeating; its lease is released and another worker takes the job.
    h.advance(Duration::from_secs(301));
    assert_eq!(reap(&h).await, 1);
    let fresh_job = h.dequeue().await.unwrap();
    assert_eq!(fresh_job.job().attempt, 2);
    assert!(
        !h.session()
            .await
            .touch_job(
                &workflow_core::ports::JobLease {
                    job_id: fresh_job.job().id.clone(),
                    attempt: 1
                },
                h.clock_now()
            )
            .await
            .unwrap()
    );
    release_gate(&run_id);
    let stale = stale.await.unwrap();
    assert_eq!(stale.outcome, JobOutcome::Fenced);
    assert!(stale.error.unwrap().contains("lost its lease (attempt 1)"));
    assert_eq!(
        h.stage(&run_id, "first").await.status,
        Status::Running,
        "the stale result was not written"
    );
    let (kernel, host, never) = (h.kernel.clone(), h.host.clone(), h.never.clone());
    let fresh = tokio::spawn(async move { execute_job(&kernel, &host, fresh_job, &never).await });
    wait_until_gated(&run_id).await;
    release_gate(&run_id);
    assert_eq!(fresh.await.unwrap().outcome, JobOutcome::Completed);
    let stage = h.stage(&run_id, "first").await;
    assert_eq!(stage.status, Status::Completed);
    let key = stage.output_data.unwrap()["_artifactKey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        key.ends_with("/first/output.json"),
        "outputs in the store are written fenced, under the reference key: {key}"
    );
    assert_eq!(h.blob(&key).await.unwrap()["value"], 2);
    assert_eq!(h.jobs(&run_id).await[0].status, Status::Completed);
    assert_eq!(fixtures::executions(&run_id, "first"), 2);
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}

/// A job whose lease goes stale on its last allowed attempt is not released again: it fails, with its stage
/// and its run (a worker that keeps dying cannot make a job run more than `maxAttempts` times).
pub async fn a_job_that_keeps_losing_its_lease_fails_at_max_attempts(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    for attempt in 1..=3 {
        let job = h.dequeue().await.unwrap();
        assert_eq!(job.job().attempt, attempt);
        // The worker dies without a word: no heartbeat, no outcome.
        drop(job);
        h.advance(Duration::from_secs(301));
        let reaped = h
            .kernel
            .dispatch(LeaseReapStale {
                stale_threshold: Duration::from_secs(300),
            })
            .await
            .unwrap();
        if attempt < 3 {
            assert_eq!((reaped.released, reaped.failed), (1, 0));
        } else {
            assert_eq!((reaped.released, reaped.failed), (0, 1));
        }
    }
    assert!(h.dequeue().await.is_none(), "no fourth delivery");
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!((job.status, job.attempt), (Status::Failed, 3));
    assert!(job.last_error.unwrap().contains("last allowed attempt"));
    let stage = h.stage(&run_id, "first").await;
    assert_eq!(stage.status, Status::Failed);
    assert!(
        stage
            .error_message
            .unwrap()
            .contains("lease was not refreshed")
    );
    assert_eq!(h.run(&run_id).await.status, Status::Failed);
    assert_eq!(
        h.event_types(&run_id).await.last().map(String::as_str),
        Some("workflow:failed")
    );
}
