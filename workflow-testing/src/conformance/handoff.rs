//! The hand-off (DESIGN §5, execution core v2): the transaction that records a stage's outcome also leases
//! the next job for the slot it frees, so that a worker moves from one stage to the next in one
//! transaction; it takes the job `lease_jobs` would have taken, and nothing once the host is stopping.

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use workflow_core::ids::StageId;
use workflow_core::kernel::{ExecuteOptions, JobOutcome, RunCreate};
use workflow_core::ports::Status;

const WORKER: &str = "conformance-worker";

/// The next stage of the run is leased in the recording transaction: its job `RUNNING` under this
/// worker (attempt 1), its stage `RUNNING`, and it runs to the run's end.
pub async fn the_recording_transaction_leases_the_next_stage(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({ "value": 2 })).await;
    h.claim().await;
    let first = h.dequeue().await.expect("the first stage's job");
    let handoff = h
        .kernel
        .execute_then_lease(
            first,
            &ExecuteOptions::default(),
            WORKER,
            1,
            &CancellationToken::new(),
        )
        .await
        .expect("recorded");
    assert_eq!(handoff.result.outcome, JobOutcome::Completed);
    assert_eq!(handoff.next.len(), 1, "the freed slot takes the next stage");
    let next = handoff.next.into_iter().next().unwrap();
    let job = next.job().clone();
    assert_eq!(
        (job.stage_id.as_str(), job.status, job.attempt),
        ("second", Status::Running, 1)
    );
    assert_eq!(job.worker_id.as_deref(), Some(WORKER));
    assert_eq!(h.stage(&run_id, "second").await.status, Status::Running);
    assert!(
        h.dequeue().await.is_none(),
        "the leased job is no one else's"
    );
    assert_eq!(
        h.execute(next).await.outcome,
        workflow_core::kernel::JobOutcome::Completed
    );
    assert_eq!(h.drive(&run_id).await.status, Status::Completed);
}

/// The hand-off takes the job a lease would take: a higher-priority run's job waiting in the queue goes
/// before the next stage of the run that just finished one.
pub async fn a_handoff_takes_the_highest_priority_job(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let low = h
        .kernel
        .dispatch(RunCreate::new("low", "conformance-linear", json!({})).priority(1))
        .await
        .unwrap()
        .workflow_run_id;
    h.claim().await;
    let first = h.dequeue().await.unwrap();
    let high = h
        .kernel
        .dispatch(RunCreate::new("high", "conformance-linear", json!({})).priority(9))
        .await
        .unwrap()
        .workflow_run_id;
    h.claim().await;
    let handoff = h
        .kernel
        .execute_then_lease(
            first,
            &ExecuteOptions::default(),
            WORKER,
            1,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let next: Vec<_> = handoff
        .next
        .iter()
        .map(|job| {
            (
                job.job().workflow_run_id.clone(),
                job.job().stage_id.clone(),
            )
        })
        .collect();
    assert_eq!(next, [(high.clone(), StageId::from("first"))]);
    assert_eq!(h.stage(&low, "second").await.status, Status::Pending);
    for job in handoff.next {
        h.execute(job).await;
    }
    assert_eq!(h.drive(&low).await.status, Status::Completed);
    assert_eq!(h.drive(&high).await.status, Status::Completed);
}

/// Once the host is stopping, recording a stage leases nothing: the next stage's job stays `PENDING` for
/// another worker.
pub async fn a_stopping_worker_hands_off_nothing(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    let first = h.dequeue().await.unwrap();
    let stopping = CancellationToken::new();
    stopping.cancel();
    let handoff = h
        .kernel
        .execute_then_lease(first, &ExecuteOptions::default(), WORKER, 1, &stopping)
        .await
        .unwrap();
    assert_eq!(handoff.result.outcome, JobOutcome::Completed);
    assert!(handoff.next.is_empty());
    assert_eq!(h.stage(&run_id, "second").await.status, Status::Pending);
    let jobs = h.jobs(&run_id).await;
    assert!(
        jobs.iter()
            .any(|j| j.stage_id == "second" && j.status == Status::Pending)
    );
}
