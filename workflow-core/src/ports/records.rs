//! Rows of the Prisma schema as the ports exchange them, and the inputs for creating and updating them.
//! Columns keep Prisma's types: `Int` is `i32`, `Float` is `f64`, `Json` is `serde_json::Value`, `DateTime`
//! is a millisecond-precision `DateTime<Utc>`.

use super::status::Status;
use crate::ai::AiCallType;
use crate::definition::record::LogLevel;
use crate::ids::{RunId, StageId, StageRecordId, WorkflowId};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub use super::annotation_records::{AnnotationFilter, AnnotationRecord, NewAnnotation};

/// A `workflow_runs` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// The workflow type the TypeScript engine stores (`workflowType`); this engine writes the workflow id.
    pub workflow_type: String,
    /// The validated input.
    pub input: Value,
    /// The merged config.
    pub config: Value,
    /// Claim priority: higher runs first (default 5, as the reference).
    pub priority: i32,
    /// Deprecated metadata.
    pub metadata: Option<Value>,
}

/// A partial update of a run: `None` keeps a column, `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunUpdate {
    /// New status.
    pub status: Option<Status>,
    /// New `startedAt` (`Some(None)` clears it).
    pub started_at: Option<Option<DateTime<Utc>>>,
    /// New `completedAt` (`Some(None)` clears it).
    pub completed_at: Option<Option<DateTime<Utc>>>,
    /// New `duration` in ms (`Some(None)` clears it).
    pub duration: Option<Option<i32>>,
    /// New `output` (`Some(None)` clears it, as a rerun does).
    pub output: Option<Option<Value>>,
    /// New `totalCost` in USD.
    pub total_cost: Option<f64>,
    /// New `totalTokens`.
    pub total_tokens: Option<i32>,
}

/// A `workflow_stages` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageRecord {
    /// cuid (the "stage record id").
    pub id: StageRecordId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i32,
    /// The run the stage row belongs to.
    pub workflow_run_id: RunId,
    /// The id the workflow gives the stage; unique per run (`@@unique([workflowRunId, stageId])`).
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
    /// The run the new stage row belongs to.
    pub workflow_run_id: RunId,
    /// The id the workflow gives the stage.
    pub stage_id: StageId,
    /// The display name.
    pub stage_name: String,
    /// 1-based position.
    pub stage_number: i32,
    /// 1-based group.
    pub execution_group: i32,
    /// The rerun count the row starts at (0 for a new run).
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
    /// New `startedAt` (`Some(None)` clears it).
    pub started_at: Option<Option<DateTime<Utc>>>,
    /// New `completedAt` (`Some(None)` clears it).
    pub completed_at: Option<Option<DateTime<Utc>>>,
    /// New `duration` in ms (`Some(None)` clears it).
    pub duration: Option<Option<i32>>,
    /// New `outputData`: the output or a blob reference (`Some(None)` clears it).
    pub output_data: Option<Option<Value>>,
    /// New `suspendedState` of an async-batch stage (`Some(None)` clears it).
    pub suspended_state: Option<Option<Value>>,
    /// New `nextPollAt`: when a suspended stage is checked next (`Some(None)` clears it).
    pub next_poll_at: Option<Option<DateTime<Utc>>>,
    /// New `pollInterval` in ms (`Some(None)` clears it).
    pub poll_interval: Option<Option<i32>>,
    /// New `maxWaitUntil`: when a suspended stage gives up (`Some(None)` clears it).
    pub max_wait_until: Option<Option<DateTime<Utc>>>,
    /// New `metrics` (`{ duration, tokens, cost, ... }`; `Some(None)` clears them).
    pub metrics: Option<Option<Value>>,
    /// New `embeddingInfo` (`Some(None)` clears it).
    pub embedding_info: Option<Option<Value>>,
    /// New `errorMessage` (`Some(None)` clears it, as a success after a retry does).
    pub error_message: Option<Option<String>>,
}

/// A `workflow_logs` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// An `outbox_events` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxRecord {
    /// cuid.
    pub id: String,
    /// Insert time.
    pub created_at: DateTime<Utc>,
    /// The run whose event stream the event belongs to.
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
    /// The event's type, e.g. `stage:completed`.
    pub event_type: String,
    /// Whole event.
    pub payload: Value,
    /// What caused it, e.g. `job:<id>:attempt:<n>` (the command and attempt that appended it).
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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiCallRecord {
    /// cuid.
    pub id: String,
    /// When it was logged.
    pub created_at: DateTime<Utc>,
    /// Dot-separated topic (`workflow.<runId>.stage.<stageId>`).
    pub topic: String,
    /// What kind of call it was (`callType`).
    pub call_type: AiCallType,
    /// The engine's model key (`gemini-2.5-flash`), priced from the model registry.
    pub model_key: String,
    /// The provider's model id.
    pub model_id: String,
    /// Prompt text.
    pub prompt: String,
    /// Response text.
    pub response: String,
    /// Prompt tokens the provider billed.
    pub input_tokens: i32,
    /// Completion tokens the provider billed.
    pub output_tokens: i32,
    /// Cost in USD.
    pub cost: f64,
    /// Extra data (`status`, `batchId`, ...).
    pub metadata: Option<Value>,
}
