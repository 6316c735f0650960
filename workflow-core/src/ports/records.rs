//! Rows of the Prisma schema as the ports exchange them, and the inputs for creating and updating them.
//! Columns keep Prisma's types: `Int` is `i32`, `Float` is `f64`, `Json` is `serde_json::Value`, `DateTime`
//! is a millisecond-precision `DateTime<Utc>`.

use super::status::Status;
use crate::ai::AiCallType;
use crate::definition::record::LogLevel;
use crate::ids::{RunId, StageId, StageRecordId, WorkflowId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A `workflow_runs` row.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// cuid.
    pub id: RunId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, bumped by every write.
    pub version: i32,
    /// The workflow's id.
    pub workflow_id: WorkflowId,
    /// The workflow's display name.
    pub workflow_name: String,
    /// Equal to `workflow_id` for runs this engine creates; part of the blob key layout.
    pub workflow_type: String,
    /// Run status.
    pub status: Status,
    /// When the run was claimed.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// `completed_at - created_at`, in ms.
    pub duration: Option<i32>,
    /// The run input.
    pub input: Value,
    /// The run output (or `{error: {...}}` for runs failed by claim or reap).
    pub output: Option<Value>,
    /// The run config (`{ stageId: config }`).
    pub config: Value,
    /// Sum of the stages' `metrics.totalCost`.
    pub total_cost: f64,
    /// Sum of the stages' `metrics.totalTokens`.
    pub total_tokens: i32,
    /// Higher runs first (default 5).
    pub priority: i32,
    /// Deprecated free-form metadata.
    pub metadata: Option<Value>,
}

/// Input of `create_run`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    /// The workflow's id.
    pub workflow_id: WorkflowId,
    /// The workflow's display name.
    pub workflow_name: String,
    /// The workflow type (the id).
    pub workflow_type: String,
    /// The validated input.
    pub input: Value,
    /// The merged config.
    pub config: Value,
    /// Priority.
    pub priority: i32,
    /// Deprecated metadata.
    pub metadata: Option<Value>,
}

/// A partial update of a run: `None` keeps a column, `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunUpdate {
    /// New status.
    pub status: Option<Status>,
    /// `startedAt`.
    pub started_at: Option<Option<DateTime<Utc>>>,
    /// `completedAt`.
    pub completed_at: Option<Option<DateTime<Utc>>>,
    /// `duration`.
    pub duration: Option<Option<i32>>,
    /// `output`.
    pub output: Option<Option<Value>>,
    /// `totalCost`.
    pub total_cost: Option<f64>,
    /// `totalTokens`.
    pub total_tokens: Option<i32>,
}

/// A `workflow_stages` row.
#[derive(Clone, Debug, PartialEq)]
pub struct StageRecord {
    /// cuid (the "stage record id").
    pub id: StageRecordId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i32,
    /// The run.
    pub workflow_run_id: RunId,
    /// The stage id.
    pub stage_id: StageId,
    /// The stage's display name.
    pub stage_name: String,
    /// 1-based definition position.
    pub stage_number: i32,
    /// 1-based execution group.
    pub execution_group: i32,
    /// 0 on the first run of the stage, +1 per rerun.
    pub attempt: i32,
    /// Stage status.
    pub status: Status,
    /// When the current execution started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// Execution time in ms.
    pub duration: Option<i32>,
    /// Unused by the kernel.
    pub input_data: Option<Value>,
    /// `{ _artifactKey, _artifactKeys? }`: where the output is stored.
    pub output_data: Option<Value>,
    /// The stage's config entry.
    pub config: Option<Value>,
    /// The state an async-batch stage suspended with.
    pub suspended_state: Option<Value>,
    /// Unused by the kernel.
    pub resume_data: Option<Value>,
    /// When to poll a suspended stage.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Poll interval in ms.
    pub poll_interval: Option<i32>,
    /// When a suspended stage gives up.
    pub max_wait_until: Option<DateTime<Utc>>,
    /// Metrics (`totalCost`, `totalTokens`, timings, custom).
    pub metrics: Option<Value>,
    /// Embedding details, if any.
    pub embedding_info: Option<Value>,
    /// The failure message.
    pub error_message: Option<String>,
}

/// Input of `create_stage`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewStage {
    /// The run.
    pub workflow_run_id: RunId,
    /// The stage id.
    pub stage_id: StageId,
    /// The display name.
    pub stage_name: String,
    /// 1-based position.
    pub stage_number: i32,
    /// 1-based group.
    pub execution_group: i32,
    /// Attempt.
    pub attempt: i32,
    /// Initial status.
    pub status: Status,
    /// Start time (for rows created `RUNNING`).
    pub started_at: Option<DateTime<Utc>>,
    /// The stage's config entry.
    pub config: Option<Value>,
}

/// A partial update of a stage (same conventions as [`RunUpdate`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageUpdate {
    /// New status.
    pub status: Option<Status>,
    /// `startedAt`.
    pub started_at: Option<Option<DateTime<Utc>>>,
    /// `completedAt`.
    pub completed_at: Option<Option<DateTime<Utc>>>,
    /// `duration`.
    pub duration: Option<Option<i32>>,
    /// `outputData`.
    pub output_data: Option<Option<Value>>,
    /// `suspendedState`.
    pub suspended_state: Option<Option<Value>>,
    /// `nextPollAt`.
    pub next_poll_at: Option<Option<DateTime<Utc>>>,
    /// `pollInterval`.
    pub poll_interval: Option<Option<i32>>,
    /// `maxWaitUntil`.
    pub max_wait_until: Option<Option<DateTime<Utc>>>,
    /// `metrics`.
    pub metrics: Option<Option<Value>>,
    /// `embeddingInfo`.
    pub embedding_info: Option<Option<Value>>,
    /// `errorMessage`.
    pub error_message: Option<Option<String>>,
}

/// A `workflow_logs` row.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    /// cuid.
    pub id: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The run, if any.
    pub workflow_run_id: Option<RunId>,
    /// The stage record, if any.
    pub workflow_stage_id: Option<StageRecordId>,
    /// `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub level: LogLevel,
    /// Text.
    pub message: String,
    /// Structured fields.
    pub metadata: Option<Value>,
}

/// Input of `create_log`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLog {
    /// The run, if any.
    pub workflow_run_id: Option<RunId>,
    /// The stage record, if any.
    pub workflow_stage_id: Option<StageRecordId>,
    /// Level text.
    pub level: LogLevel,
    /// Text.
    pub message: String,
    /// Fields.
    pub metadata: Option<Value>,
}

/// A `workflow_annotations` row.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnotationRecord {
    /// cuid (or `synthesized:<runId>:<key>` for legacy metadata projections).
    pub id: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The run.
    pub workflow_run_id: RunId,
    /// The stage record (null for run-scoped rows, or once the stage row is deleted).
    pub workflow_stage_record_id: Option<StageRecordId>,
    /// The stage attempt it was made in.
    pub attempt: i32,
    /// `run`, `stage`, `ai_call` or custom.
    pub scope: String,
    /// The stage id for stage-scoped rows.
    pub scope_id: Option<String>,
    /// Actor kind.
    pub actor_kind: Option<String>,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Actor version.
    pub actor_version: Option<String>,
    /// Key.
    pub key: String,
    /// Value.
    pub value: Value,
    /// Payload.
    pub payload: Option<Value>,
    /// Deduplication key.
    pub idempotency_key: Option<String>,
}

/// Input of `append_annotations` (one row).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAnnotation {
    /// The run.
    pub workflow_run_id: RunId,
    /// The stage record, if stage-scoped.
    pub workflow_stage_record_id: Option<StageRecordId>,
    /// Attempt.
    pub attempt: i32,
    /// Scope.
    pub scope: String,
    /// Scope id.
    pub scope_id: Option<String>,
    /// Actor kind.
    pub actor_kind: Option<String>,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Actor version.
    pub actor_version: Option<String>,
    /// Key.
    pub key: String,
    /// Value.
    pub value: Value,
    /// Payload.
    pub payload: Option<Value>,
    /// Deduplication key.
    pub idempotency_key: Option<String>,
}

/// Filters of `list_annotations`, AND-combined.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnnotationFilter {
    /// Exact key.
    pub key: Option<String>,
    /// Key prefix.
    pub key_prefix: Option<String>,
    /// Scope.
    pub scope: Option<String>,
    /// Scope id.
    pub scope_id: Option<String>,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Actor kind.
    pub actor_kind: Option<String>,
    /// Attempt.
    pub attempt: Option<i32>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created at or before.
    pub until: Option<DateTime<Utc>>,
    /// At most this many rows (default 1000).
    pub limit: Option<usize>,
}

impl AnnotationFilter {
    /// Whether `row` passes every filter (the limit is not applied here).
    pub fn matches(&self, row: &AnnotationRecord) -> bool {
        self.key.as_deref().is_none_or(|k| row.key == k)
            && self
                .key_prefix
                .as_deref()
                .is_none_or(|p| row.key.starts_with(p))
            && self.scope.as_deref().is_none_or(|s| row.scope == s)
            && self
                .scope_id
                .as_deref()
                .is_none_or(|s| row.scope_id.as_deref() == Some(s))
            && self
                .actor_id
                .as_deref()
                .is_none_or(|a| row.actor_id.as_deref() == Some(a))
            && self
                .actor_kind
                .as_deref()
                .is_none_or(|a| row.actor_kind.as_deref() == Some(a))
            && self.attempt.is_none_or(|a| row.attempt == a)
            && self.since.is_none_or(|since| row.created_at >= since)
            && self.until.is_none_or(|until| row.created_at <= until)
    }
}

/// An `outbox_events` row.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxRecord {
    /// cuid.
    pub id: String,
    /// Insert time.
    pub created_at: DateTime<Utc>,
    /// The run.
    pub workflow_run_id: RunId,
    /// Per-run sequence, from 1.
    pub sequence: i32,
    /// The event type (`workflow:created`, ...).
    pub event_type: String,
    /// The whole event object.
    pub payload: Value,
    /// Shared by all events of one dispatch.
    pub causation_id: String,
    /// The event's timestamp.
    pub occurred_at: DateTime<Utc>,
    /// When it was delivered.
    pub published_at: Option<DateTime<Utc>>,
    /// Failed deliveries.
    pub retry_count: i32,
    /// When it was moved to the dead-letter queue.
    pub dlq_at: Option<DateTime<Utc>>,
}

/// Input of `append_outbox` (one event; the store assigns the sequence).
#[derive(Clone, Debug, PartialEq)]
pub struct NewOutboxEvent {
    /// The run it belongs to.
    pub workflow_run_id: RunId,
    /// Event type.
    pub event_type: String,
    /// Whole event.
    pub payload: Value,
    /// Causation id.
    pub causation_id: String,
    /// Event timestamp.
    pub occurred_at: DateTime<Utc>,
}

/// What `acquire_idempotency_key` found.
#[derive(Clone, Debug, PartialEq)]
pub enum IdempotencyAcquire {
    /// The key was free (or its in-progress marker was stale): run the command.
    Acquired,
    /// The command completed before; this is its result.
    Replay(Value),
    /// Another dispatch with this key is running.
    InProgress,
}

/// An `ai_calls` row.
#[derive(Clone, Debug, PartialEq)]
pub struct AiCallRecord {
    /// cuid.
    pub id: String,
    /// When it was logged.
    pub created_at: DateTime<Utc>,
    /// Dot-separated topic (`workflow.<runId>.stage.<stageId>`).
    pub topic: String,
    /// What kind of call it was (`callType`).
    pub call_type: AiCallType,
    /// The model key.
    pub model_key: String,
    /// The provider's model id.
    pub model_id: String,
    /// Prompt text.
    pub prompt: String,
    /// Response text.
    pub response: String,
    /// Input tokens.
    pub input_tokens: i32,
    /// Output tokens.
    pub output_tokens: i32,
    /// Cost in USD.
    pub cost: f64,
    /// Extra data (`status`, `batchId`, ...).
    pub metadata: Option<Value>,
}

/// Filter of `list_runs`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFilter {
    /// Only runs with this status.
    pub status: Option<Status>,
    /// Only runs of this workflow.
    pub workflow_id: Option<WorkflowId>,
    /// At most this many, newest first (default 100).
    pub limit: Option<usize>,
}
