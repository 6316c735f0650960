//! Workflow events (the twelve event types of the TypeScript engine, with the same JSON payloads) and the
//! [`EventSink`] port that `outbox.flush` delivers them to.

use crate::ids::{RunId, StageId, WorkflowId};
use crate::time::js_date;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One event: its kind and fields, when it happened and which run it belongs to. Serializes to the
/// TypeScript engine's event object (`{ "type": "stage:completed", "timestamp": "...", "workflowRunId":
/// "...", "stageId": "...", ... }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowEvent {
    /// The event type and its fields.
    #[serde(flatten)]
    pub kind: EventKind,
    /// When it happened (kernel clock).
    #[serde(with = "js_date")]
    pub timestamp: DateTime<Utc>,
    /// The run the event belongs to (the event stream is per run).
    pub workflow_run_id: RunId,
}

impl WorkflowEvent {
    /// The `type` string (`workflow:created`, ...).
    pub fn event_type(&self) -> &'static str {
        self.kind.event_type()
    }
}

/// The event types and their fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[allow(missing_docs)] // fields are documented by the variant docs; names follow the TypeScript payloads
pub enum EventKind {
    /// `run.create` created the run.
    #[serde(rename = "workflow:created", rename_all = "camelCase")]
    WorkflowCreated { workflow_id: WorkflowId },
    /// The run was claimed, advanced from no stages, or rerun.
    #[serde(rename = "workflow:started")]
    WorkflowStarted {},
    /// The last group finished.
    #[serde(rename = "workflow:completed", rename_all = "camelCase")]
    WorkflowCompleted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        output: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total_cost: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total_tokens: Option<i32>,
    },
    /// The run failed.
    #[serde(rename = "workflow:failed")]
    WorkflowFailed { error: String },
    /// The run was cancelled.
    #[serde(rename = "workflow:cancelled")]
    WorkflowCancelled {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A stage of the run suspended.
    #[serde(rename = "workflow:suspended", rename_all = "camelCase")]
    WorkflowSuspended { stage_id: StageId },
    /// A stage started executing.
    #[serde(rename = "stage:started", rename_all = "camelCase")]
    StageStarted {
        stage_id: StageId,
        stage_name: String,
        stage_number: i32,
    },
    /// The stage finished with an output (`stage:completed`).
    #[serde(rename = "stage:completed", rename_all = "camelCase")]
    StageCompleted {
        stage_id: StageId,
        stage_name: String,
        duration: i32,
    },
    /// A stage suspended until `next_poll_at`.
    #[serde(rename = "stage:suspended", rename_all = "camelCase")]
    StageSuspended {
        stage_id: StageId,
        stage_name: String,
        #[serde(with = "js_date")]
        next_poll_at: DateTime<Utc>,
    },
    /// The stage failed (`stage:failed`); it may still be retried.
    #[serde(rename = "stage:failed", rename_all = "camelCase")]
    StageFailed {
        stage_id: StageId,
        stage_name: String,
        error: String,
    },
    /// A stage reported progress.
    #[serde(rename = "stage:progress", rename_all = "camelCase")]
    StageProgress {
        stage_id: StageId,
        stage_name: String,
        progress: f64,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<Value>,
    },
    /// An annotation was written with `emit_event`.
    #[serde(rename = "annotation:created", rename_all = "camelCase")]
    AnnotationCreated {
        key: String,
        value: Value,
        scope: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor_kind: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        actor_version: Option<String>,
    },
}

impl EventKind {
    /// The `type` string.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventKind::WorkflowCreated { .. } => "workflow:created",
            EventKind::WorkflowStarted {} => "workflow:started",
            EventKind::WorkflowCompleted { .. } => "workflow:completed",
            EventKind::WorkflowFailed { .. } => "workflow:failed",
            EventKind::WorkflowCancelled { .. } => "workflow:cancelled",
            EventKind::WorkflowSuspended { .. } => "workflow:suspended",
            EventKind::StageStarted { .. } => "stage:started",
            EventKind::StageCompleted { .. } => "stage:completed",
            EventKind::StageSuspended { .. } => "stage:suspended",
            EventKind::StageFailed { .. } => "stage:failed",
            EventKind::StageProgress { .. } => "stage:progress",
            EventKind::AnnotationCreated { .. } => "annotation:created",
        }
    }
}

/// An outbox event as delivered: the stored payload plus its place in the run's sequence. The payload is kept
/// as stored, so events written by the TypeScript engine into a shared database are delivered as they are.
#[derive(Clone, Debug, PartialEq)]
pub struct EventEnvelope {
    /// The run the event belongs to.
    pub workflow_run_id: RunId,
    /// The event's position in its run's stream, from 1; delivered in this order.
    pub sequence: i32,
    /// The event's `type`, e.g. `stage:completed` (the payload's tag).
    pub event_type: String,
    /// When the event happened (not when it was delivered).
    pub occurred_at: DateTime<Utc>,
    /// The whole event object.
    pub payload: Value,
}

impl EventEnvelope {
    /// The payload as a typed event.
    pub fn event(&self) -> Result<WorkflowEvent, serde_json::Error> {
        serde_json::from_value(self.payload.clone())
    }
}

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EventError(pub String);

/// Receives the events `outbox.flush` publishes: at least once, in order per run.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Delivers one event; an error leaves it in the outbox for the next flush (and later the DLQ).
    async fn emit(&self, event: &EventEnvelope) -> Result<(), EventError>;

    /// Failed deliveries before an event goes to the dead-letter queue.
    fn max_retries(&self) -> u32 {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn events_serialize_like_the_typescript_engine() {
        let event = WorkflowEvent {
            kind: EventKind::StageStarted {
                stage_id: "extract".into(),
                stage_name: "Extract".into(),
                stage_number: 1,
            },
            timestamp: at(),
            workflow_run_id: "r1".into(),
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({
                "type": "stage:started", "stageId": "extract", "stageName": "Extract", "stageNumber": 1,
                "timestamp": "2025-01-01T00:00:00.000Z", "workflowRunId": "r1"
            })
        );
        let started = WorkflowEvent {
            kind: EventKind::WorkflowStarted {},
            timestamp: at(),
            workflow_run_id: "r1".into(),
        };
        assert_eq!(
            serde_json::to_value(&started).unwrap(),
            json!({ "type": "workflow:started", "timestamp": "2025-01-01T00:00:00.000Z", "workflowRunId": "r1" })
        );
    }

    #[test]
    fn every_event_type_round_trips() {
        let kinds = vec![
            EventKind::WorkflowCreated {
                workflow_id: "w".into(),
            },
            EventKind::WorkflowStarted {},
            EventKind::WorkflowCompleted {
                duration: Some(5),
                output: Some(json!({"a": 1})),
                total_cost: Some(0.5),
                total_tokens: Some(3),
            },
            EventKind::WorkflowFailed { error: "x".into() },
            EventKind::WorkflowCancelled { reason: None },
            EventKind::WorkflowSuspended {
                stage_id: "s".into(),
            },
            EventKind::StageCompleted {
                stage_id: "s".into(),
                stage_name: "S".into(),
                duration: 3,
            },
            EventKind::StageSuspended {
                stage_id: "s".into(),
                stage_name: "S".into(),
                next_poll_at: at(),
            },
            EventKind::StageFailed {
                stage_id: "s".into(),
                stage_name: "S".into(),
                error: "e".into(),
            },
            EventKind::StageProgress {
                stage_id: "s".into(),
                stage_name: "S".into(),
                progress: 0.5,
                message: "m".into(),
                details: None,
            },
            EventKind::AnnotationCreated {
                key: "k".into(),
                value: json!(1),
                scope: "run".into(),
                scope_id: None,
                attempt: Some(0),
                actor_kind: None,
                actor_id: None,
                actor_version: None,
            },
        ];
        for kind in kinds {
            let event = WorkflowEvent {
                kind,
                timestamp: at(),
                workflow_run_id: "r".into(),
            };
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(json["type"], event.event_type());
            let envelope = EventEnvelope {
                workflow_run_id: "r".into(),
                sequence: 1,
                event_type: event.event_type().into(),
                occurred_at: at(),
                payload: json,
            };
            assert_eq!(envelope.event().unwrap(), event);
        }
    }
}
