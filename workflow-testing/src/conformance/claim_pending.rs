//! `run.claimPending` (reference §5.2).

use super::fixtures;
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::kernel::{RunClaimPending, RunCreate};
use workflow_core::ports::{Registry, Status};

/// Runs are claimed by priority (highest first), then by age; `max_claims` bounds a claim.
pub async fn claims_by_priority_then_age(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let old_low = h
        .kernel
        .dispatch(RunCreate::new("a", "conformance-linear", json!({})).priority(1))
        .await
        .unwrap()
        .workflow_run_id;
    h.advance(Duration::from_millis(5));
    let old_high = h
        .kernel
        .dispatch(RunCreate::new("b", "conformance-linear", json!({})).priority(9))
        .await
        .unwrap()
        .workflow_run_id;
    h.advance(Duration::from_millis(5));
    let new_high = h
        .kernel
        .dispatch(RunCreate::new("c", "conformance-linear", json!({})).priority(9))
        .await
        .unwrap()
        .workflow_run_id;
    let first = h
        .kernel
        .dispatch(RunClaimPending {
            worker_id: "w".into(),
            max_claims: Some(2),
        })
        .await
        .unwrap();
    let ids: Vec<&str> = first
        .claimed
        .iter()
        .map(|c| c.workflow_run_id.as_str())
        .collect();
    assert_eq!(ids, [old_high.as_str(), new_high.as_str()]);
    assert_eq!(h.run(&old_low).await.status, Status::Pending);
    let rest = h.claim().await;
    assert_eq!(rest.claimed.len(), 1);
    assert_eq!(rest.claimed[0].workflow_run_id, old_low);
    assert!(h.claim().await.claimed.is_empty());
}

/// A claimed run is `RUNNING` with its first group's rows and jobs, and a `workflow:started` event.
pub async fn a_claim_creates_the_first_group(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .kernel
        .dispatch(RunCreate::new("k", "conformance-fanout", json!({ "value": 1 })).priority(3))
        .await
        .unwrap()
        .workflow_run_id;
    h.advance(Duration::from_secs(2));
    let claimed = h.claim().await;
    assert_eq!(claimed.claimed.len(), 1);
    assert_eq!(claimed.claimed[0].workflow_id, "conformance-fanout");
    let run = h.run(&run_id).await;
    assert_eq!(
        (run.status, run.started_at, run.version),
        (Status::Running, Some(h.clock_now()), 2)
    );
    let stages = h.stages(&run_id).await;
    assert_eq!(stages.len(), 1, "only group 1 is created");
    let first = &stages[0];
    assert_eq!(
        (
            first.stage_id.as_str(),
            first.stage_name.as_str(),
            first.stage_number,
            first.execution_group
        ),
        ("first", "First", 1, 1)
    );
    assert_eq!((first.status, first.attempt), (Status::Pending, 0));
    assert_eq!(first.config, Some(json!({ "factor": 2, "label": "x" })));
    let jobs = h.jobs(&run_id).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(claimed.claimed[0].job_ids, [jobs[0].id.clone()]);
    assert_eq!(
        (
            jobs[0].status,
            jobs[0].priority,
            jobs[0].attempt,
            jobs[0].max_attempts
        ),
        (Status::Pending, 3, 0, 3)
    );
    assert_eq!(jobs[0].workflow_id, "conformance-fanout");
    assert_eq!(jobs[0].run_config(), run.config);
    assert_eq!(
        h.event_types(&run_id).await,
        ["workflow:created", "workflow:started"]
    );
}

/// A run of a workflow that is not registered fails at claim with `WORKFLOW_NOT_FOUND`.
pub async fn an_unregistered_workflow_fails_at_claim(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    let other = h.sibling(Registry::new().with::<fixtures::Batched>());
    let claimed = other
        .kernel
        .dispatch(RunClaimPending::new("w-2"))
        .await
        .unwrap();
    assert!(claimed.claimed.is_empty());
    let run = h.run(&run_id).await;
    assert_eq!(run.status, Status::Failed);
    assert_eq!(run.completed_at, Some(h.clock_now()));
    assert_eq!(
        run.output,
        Some(
            json!({ "error": { "code": "WORKFLOW_NOT_FOUND", "message": "Workflow conformance-linear not found in registry", "workerId": "w-2" } })
        )
    );
    let logs = h.logs(&run_id).await;
    assert_eq!(logs.len(), 1);
    assert_eq!(
        (logs[0].level.as_str(), logs[0].message.as_str()),
        ("ERROR", "Workflow conformance-linear not found in registry")
    );
    let outbox = h.outbox(&run_id).await;
    assert_eq!(outbox.last().unwrap().event_type, "workflow:failed");
    assert_eq!(
        outbox.last().unwrap().payload["error"],
        "Workflow conformance-linear not found in registry"
    );
    assert!(h.jobs(&run_id).await.is_empty());
}
