//! The composite writes of the store port ([`Executor::record_stage`](super::Executor::record_stage),
//! [`Executor::start_group`](super::Executor::start_group)) and the conventions of stored values.

use super::jobs::{JobEnd, JobLease, NewJob};
use super::records::*;
use super::status::Status;
use crate::ids::{RunId, StageRecordId, WorkflowId};
use serde_json::Value;

/// A stage outcome to record ([`Executor::record_stage`](super::Executor::record_stage)).
#[derive(Clone, Debug, PartialEq)]
pub struct StageWrite {
    /// The run whose stage is recorded.
    pub run_id: RunId,
    /// The stage row (`workflow_stages.id`).
    pub stage_record_id: StageRecordId,
    /// The new column values.
    pub update: StageUpdate,
    /// Blobs to store with it (the output, artifacts), as `(key, value)`.
    pub blobs: Vec<(String, Value)>,
    /// The job to end with it, and how; the write happens only if the lease still holds.
    pub job: Option<(JobLease, JobEnd)>,
    /// Events to append with it (same run).
    pub events: Vec<NewOutboxEvent>,
}

/// What [`Executor::record_stage`](super::Executor::record_stage) did.
#[derive(Clone, Debug, PartialEq)]
pub struct StageWritten {
    /// The job's new status, when a job was ended.
    pub job_status: Option<Status>,
    /// Every stage row of the run after the write, by group then stage number.
    pub stages: Vec<StageRecord>,
}

/// A group of stages to start ([`Executor::start_group`](super::Executor::start_group)).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupStart {
    /// The stage rows to create.
    pub stages: Vec<NewStage>,
    /// Keep rows that exist already (an interrupted claim) instead of failing on them.
    pub if_absent: bool,
    /// The workflow (for the jobs' payload).
    pub workflow_id: WorkflowId,
    /// The jobs' priority (the run's).
    pub priority: i32,
    /// The jobs' payload (`{ config: <run config> }`).
    pub payload: Value,
    /// Events to append with it.
    pub events: Vec<NewOutboxEvent>,
}

/// The marker stored as the result of an in-progress idempotency key (the TypeScript engine's).
pub fn in_progress_marker() -> Value {
    serde_json::json!({ "__workflowEngineState": "in_progress" })
}

/// Whether a stored result is the in-progress marker.
pub fn is_in_progress_marker(value: &Value) -> bool {
    value.get("__workflowEngineState").and_then(Value::as_str) == Some("in_progress")
}

/// Statuses a stage row can still change from without a rerun.
pub(crate) fn stage_is_unfinished(status: Status) -> bool {
    matches!(
        status,
        Status::Pending | Status::Running | Status::Suspended
    )
}

impl GroupStart {
    /// The jobs of the group's rows that are `PENDING` (rows kept from an interrupted claim may be
    /// further along), in row order.
    pub fn jobs_for(&self, rows: &[StageRecord]) -> Vec<NewJob> {
        rows.iter()
            .filter(|row| row.status == Status::Pending)
            .map(|row| NewJob {
                workflow_run_id: row.workflow_run_id.clone(),
                workflow_id: self.workflow_id.clone(),
                stage_id: row.stage_id.clone(),
                priority: self.priority,
                payload: self.payload.clone(),
            })
            .collect()
    }
}
