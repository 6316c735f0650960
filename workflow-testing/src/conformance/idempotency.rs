//! Idempotency keys (reference §2.1).

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::kernel::{KernelError, RunCreate};
use workflow_core::ports::IdempotencyAcquire;
use workflow_core::ports::in_progress_marker;

/// A repeated key with the same request returns the first result without running anything; keys are
/// scoped by command type. (A different request with the key is a conflict: DESIGN §5.13.)
pub async fn a_repeated_key_replays_the_first_result(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let first = h
        .kernel
        .dispatch(RunCreate::new(
            "same",
            "conformance-linear",
            json!({ "value": 1 }),
        ))
        .await
        .unwrap();
    let again = h
        .kernel
        .dispatch(RunCreate::new(
            "same",
            "conformance-linear",
            json!({ "value": 1 }),
        ))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(h.runs().await.len(), 1);
    assert_eq!(
        h.outbox(&first.workflow_run_id).await.len(),
        1,
        "a replay emits nothing"
    );
    let stored = h
        .session()
        .await
        .get_idempotency_key("same", "run.create")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored,
        json!({ "workflowRunId": first.workflow_run_id, "status": "PENDING" })
    );
    let mut session = h.session().await;
    let other_command = session
        .acquire_idempotency_key("same", "job.execute", h.clock_now(), None)
        .await
        .unwrap();
    assert_eq!(
        other_command,
        IdempotencyAcquire::Acquired,
        "keys are scoped by command type"
    );
}

/// A key held by a running dispatch refuses a second one; a stale in-progress key is reclaimed.
pub async fn an_in_progress_key_refuses_until_stale(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let mut session = h.session().await;
    assert_eq!(
        session
            .acquire_idempotency_key("busy", "run.create", h.clock_now(), None)
            .await
            .unwrap(),
        IdempotencyAcquire::Acquired
    );
    drop(session);
    let error = h
        .kernel
        .dispatch(RunCreate::new("busy", "conformance-linear", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(error, KernelError::IdempotencyInProgress { .. }));
    assert_eq!(
        error.to_string(),
        "Command \"run.create\" with idempotency key \"busy\" is already in progress"
    );
    assert_eq!(
        h.session()
            .await
            .get_idempotency_key("busy", "run.create")
            .await
            .unwrap(),
        Some(in_progress_marker())
    );
    h.advance(Duration::from_secs(600));
    let reclaimed = h
        .kernel
        .dispatch(RunCreate::new("busy", "conformance-linear", json!({})))
        .await
        .unwrap();
    assert_eq!(h.runs().await[0].id, reclaimed.workflow_run_id);
}

/// A command that fails releases its key, so it can be retried.
pub async fn a_failed_command_releases_its_key(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let error = h
        .kernel
        .dispatch(RunCreate::new(
            "retry-me",
            "conformance-linear",
            json!({ "value": "x" }),
        ))
        .await
        .unwrap_err();
    assert!(matches!(error, KernelError::InvalidInput(_)));
    assert_eq!(
        h.session()
            .await
            .get_idempotency_key("retry-me", "run.create")
            .await
            .unwrap(),
        None
    );
    let created = h
        .kernel
        .dispatch(RunCreate::new(
            "retry-me",
            "conformance-linear",
            json!({ "value": 1 }),
        ))
        .await;
    assert!(created.is_ok());
    let empty = h
        .kernel
        .dispatch(RunCreate::new(" ", "conformance-linear", json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        empty.to_string(),
        "invalid run.create command: the idempotency key is empty"
    );
}

/// **DESIGN §5.13** — an idempotency key reused for a different request (another input, config, priority
/// or workflow) is refused with a conflict naming the key; nothing is written.
pub async fn design_difference_13_a_reused_key_with_another_request_conflicts(
    factory: &dyn BackendFactory,
) {
    let h = Harness::new(factory).await;
    let first = h
        .kernel
        .dispatch(RunCreate::new(
            "order-7",
            "conformance-linear",
            json!({ "value": 1 }),
        ))
        .await
        .unwrap();
    let differing = [
        RunCreate::new("order-7", "conformance-linear", json!({ "value": 2 })),
        RunCreate::new("order-7", "conformance-linear", json!({ "value": 1 })).priority(9),
        RunCreate::new("order-7", "conformance-linear", json!({ "value": 1 }))
            .config(json!({ "first": { "factor": 3 } })),
        RunCreate::new("order-7", "conformance-fanout", json!({ "value": 1 })),
    ];
    for (index, command) in differing.into_iter().enumerate() {
        let error = h.kernel.dispatch(command).await.unwrap_err();
        assert!(
            matches!(error, KernelError::IdempotencyConflict { .. }),
            "request {index}: {error}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with("idempotency key \"order-7\" of command \"run.create\" was already used for a different request"),
            "request {index}: {message}"
        );
    }
    assert_eq!(h.runs().await.len(), 1, "a conflict writes nothing");
    assert_eq!(h.outbox(&first.workflow_run_id).await.len(), 1);
    let same = h
        .kernel
        .dispatch(RunCreate::new(
            "order-7",
            "conformance-linear",
            json!({ "value": 1 }),
        ))
        .await
        .unwrap();
    assert_eq!(same, first, "the same request still replays");
}
