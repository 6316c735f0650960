//! Host-level retries (reference §6.5).

use super::fixtures;
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::kernel::JobOutcome;
use workflow_core::ports::Status;
use workflow_core::time::add;

/// A retryable failure re-queues the job with backoff (2 s after attempt 1, 4 s after attempt 2); after
/// `maxAttempts` (3) the job and the run fail with the last error.
pub async fn failures_retry_with_backoff_until_max_attempts(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-linear", json!({ "failTimes": 5 }))
        .await;
    h.claim().await;
    assert_eq!(h.run_next_job().await.unwrap().outcome, JobOutcome::Failed);
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!(
        (job.status, job.attempt, job.last_error.as_deref()),
        (Status::Pending, 1, Some("scripted failure 1"))
    );
    assert_eq!(
        job.next_poll_at,
        Some(add(h.clock_now(), Duration::from_secs(2)))
    );
    assert!(
        h.run_next_job().await.is_none(),
        "not claimable before its retry time"
    );
    h.advance(Duration::from_secs(2));
    assert_eq!(h.run_next_job().await.unwrap().outcome, JobOutcome::Failed);
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!(
        (job.attempt, job.next_poll_at),
        (2, Some(add(h.clock_now(), Duration::from_secs(4))))
    );
    h.advance(Duration::from_secs(4));
    assert_eq!(h.run_next_job().await.unwrap().outcome, JobOutcome::Failed);
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!(
        (job.status, job.attempt, job.last_error.as_deref()),
        (Status::Failed, 3, Some("scripted failure 3"))
    );
    assert_eq!(
        fixtures::executions(&run_id, "first"),
        3,
        "a stage body runs at most maxAttempts times"
    );
    let run = h.run(&run_id).await;
    assert_eq!(run.status, Status::Failed);
    let failed = h
        .outbox(&run_id)
        .await
        .into_iter()
        .rfind(|e| e.event_type == "workflow:failed")
        .unwrap();
    assert_eq!(failed.payload["error"], "scripted failure 3");
}

/// A fatal error is not retried.
pub async fn fatal_failures_are_not_retried(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-linear",
            json!({ "failTimes": 1, "fatal": true }),
        )
        .await;
    h.claim().await;
    h.run_next_job().await;
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!((job.status, job.attempt), (Status::Failed, 1));
    assert_eq!(h.run(&run_id).await.status, Status::Failed);
}
