//! Rows of `workflow_annotations` as the ports exchange them, the input for appending them, and the
//! filters for listing them. Column types follow `records.rs`.

use crate::ids::{RunId, StageRecordId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A `workflow_annotations` row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnnotationRecord {
    /// cuid (or `synthesized:<runId>:<key>` for legacy metadata projections).
    pub id: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The run the annotation is attached to.
    pub workflow_run_id: RunId,
    /// The stage record (null for run-scoped rows, or once the stage row is deleted).
    pub workflow_stage_record_id: Option<StageRecordId>,
    /// The stage attempt it was made in.
    pub attempt: i32,
    /// `run`, `stage`, `ai_call` or custom.
    pub scope: String,
    /// The stage id for stage-scoped rows.
    pub scope_id: Option<String>,
    /// Who wrote it: `stage`, `user`, `system`, ... (free text).
    pub actor_kind: Option<String>,
    /// The writer's id within its kind (a stage id, a user id).
    pub actor_id: Option<String>,
    /// The writer's version, e.g. a model or app version.
    pub actor_version: Option<String>,
    /// What is annotated, e.g. `quality.score`; listing filters by key or prefix.
    pub key: String,
    /// The annotation's JSON value.
    pub value: Value,
    /// Extra JSON the writer attached (evidence, raw scores).
    pub payload: Option<Value>,
    /// Deduplication key.
    pub idempotency_key: Option<String>,
}

/// Input of `append_annotations` (one row).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAnnotation {
    /// The run to attach the annotation to.
    pub workflow_run_id: RunId,
    /// The stage record, if stage-scoped.
    pub workflow_stage_record_id: Option<StageRecordId>,
    /// The stage attempt it describes (0 for run-level annotations).
    pub attempt: i32,
    /// What it is about: `run` or `stage`.
    pub scope: String,
    /// The id within the scope (the stage record id for `stage`).
    pub scope_id: Option<String>,
    /// Who writes it: `stage`, `user`, `system`, ... (free text).
    pub actor_kind: Option<String>,
    /// The writer's id within its kind.
    pub actor_id: Option<String>,
    /// The writer's version.
    pub actor_version: Option<String>,
    /// What is annotated, e.g. `quality.score`.
    pub key: String,
    /// The annotation's JSON value.
    pub value: Value,
    /// Extra JSON (evidence, raw scores).
    pub payload: Option<Value>,
    /// Deduplication key.
    pub idempotency_key: Option<String>,
}

/// Filters of `list_annotations`, AND-combined.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnnotationFilter {
    /// Exact key.
    pub key: Option<String>,
    /// Only keys starting with this text.
    pub key_prefix: Option<String>,
    /// Only this scope (`run` or `stage`).
    pub scope: Option<String>,
    /// Only this id within the scope.
    pub scope_id: Option<String>,
    /// Only annotations by this writer id.
    pub actor_id: Option<String>,
    /// Only annotations by this kind of writer.
    pub actor_kind: Option<String>,
    /// Only annotations of this stage attempt.
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
