//! Events into outbox rows: in order, sharing one causation id.

use crate::ports::{NewOutboxEvent, WorkflowEvent};

/// The outbox rows of `events` (each run's events keep their order).
pub(crate) fn rows(events: &[WorkflowEvent], causation_id: &str) -> Vec<NewOutboxEvent> {
    events
        .iter()
        .map(|event| NewOutboxEvent {
            workflow_run_id: event.workflow_run_id.clone(),
            event_type: event.event_type().to_owned(),
            payload: serde_json::to_value(event).expect("events always serialize"),
            causation_id: causation_id.to_owned(),
            occurred_at: event.timestamp,
        })
        .collect()
}
