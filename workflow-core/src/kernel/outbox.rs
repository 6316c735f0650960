//! Events into outbox rows: grouped by run, in order, sharing one causation id.

use crate::ports::{NewOutboxEvent, Session, StoreError, WorkflowEvent};
use chrono::{DateTime, Utc};

/// Appends `events` to the outbox of their runs (each run's events in their order).
pub(crate) async fn append(
    session: &mut dyn Session,
    events: &[WorkflowEvent],
    causation_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut runs: Vec<(&str, Vec<NewOutboxEvent>)> = Vec::new();
    for event in events {
        let row = NewOutboxEvent {
            event_type: event.event_type().to_owned(),
            payload: serde_json::to_value(event).expect("events always serialize"),
            causation_id: causation_id.to_owned(),
            occurred_at: event.timestamp,
        };
        match runs
            .iter_mut()
            .find(|(run, _)| *run == event.workflow_run_id)
        {
            Some((_, rows)) => rows.push(row),
            None => runs.push((&event.workflow_run_id, vec![row])),
        }
    }
    for (run, rows) in runs {
        session.append_outbox(run, rows, now).await?;
    }
    Ok(())
}
