//! The persistence port: runs, stages, logs, annotations, the outbox and idempotency keys.
//!
//! [`Persistence::begin`] opens a transaction and [`Persistence::session`] an autocommit session; both
//! return a [`Session`] with the same data methods. The kernel never holds a transaction while stage code
//! runs. Every method takes the kernel's `now` for the timestamps it writes, so one clock stamps every row.

use super::error::StoreError;
use super::records::*;
use super::status::Status;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::any::Any;
use std::time::Duration;

/// Opens sessions on the store.
#[async_trait]
pub trait Persistence: Send + Sync {
    /// A transaction: its writes are visible to others only after [`Session::commit`]; dropping it without
    /// committing rolls everything back.
    async fn begin(&self) -> Result<Box<dyn Session>, StoreError>;
    /// An autocommit session: every write is committed at once. [`Session::commit`] is a no-op.
    async fn session(&self) -> Result<Box<dyn Session>, StoreError>;
}

/// Data access on one connection (transactional or autocommit).
#[async_trait]
pub trait Session: Send {
    /// Commits a transaction (no-op for autocommit sessions).
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// The concrete session, so that an adapter's job transport can enlist in its own store's transaction.
    fn as_any_mut(&mut self) -> &mut dyn Any;

    // ---- runs ----

    /// Inserts a run (`PENDING`, version 1).
    async fn create_run(
        &mut self,
        run: NewRun,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError>;
    /// The run with this id.
    async fn get_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Updates a run, bumps its version and `updatedAt`. With `expected_version`, fails with
    /// [`StoreError::StaleVersion`] unless the stored version matches (an empty update is then a "claim").
    async fn update_run(
        &mut self,
        id: &str,
        update: RunUpdate,
        expected_version: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError>;
    /// Atomically takes the `PENDING` run with the highest priority, then the oldest `createdAt`, sets it
    /// `RUNNING` with `startedAt = now` and bumps its version. Concurrent callers never get the same run.
    async fn claim_next_pending_run(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError>;
    /// Marks a run `FAILED` with `output` without reading the row back: for a row that cannot be decoded
    /// (unknown status, malformed JSON), so that it stops blocking claims.
    async fn quarantine_run(
        &mut self,
        id: &str,
        output: Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// `RUNNING` runs with `updatedAt <= since` and no stage row updated after `since`, oldest first.
    async fn stuck_runs(&mut self, since: DateTime<Utc>) -> Result<Vec<RunRecord>, StoreError>;
    /// Runs, newest first.
    async fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError>;

    // ---- stages ----

    /// Inserts a stage row; fails if `(run, stageId)` exists.
    async fn create_stage(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError>;
    /// Inserts a stage row unless one exists for `(run, stageId)`; returns the row that is there.
    async fn insert_stage_if_absent(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError>;
    /// Updates a stage row by record id (same conventions as [`update_run`](Session::update_run)).
    async fn update_stage(
        &mut self,
        id: &str,
        update: StageUpdate,
        expected_version: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError>;
    /// The stage row of `(run, stageId)`.
    async fn get_stage(
        &mut self,
        run_id: &str,
        stage_id: &str,
    ) -> Result<Option<StageRecord>, StoreError>;
    /// Every stage row of a run, ordered by execution group, then stage number.
    async fn stages_by_run(&mut self, run_id: &str) -> Result<Vec<StageRecord>, StoreError>;
    /// `SUSPENDED` stages with `nextPollAt <= before`, at most `limit`.
    async fn suspended_stages_due(
        &mut self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StageRecord>, StoreError>;
    /// Deletes every stage row of the run in `execution_group >= group`; returns the deleted rows.
    /// Annotations keep their data; their stage reference becomes null.
    async fn delete_stages_from_group(
        &mut self,
        run_id: &str,
        group: i32,
    ) -> Result<Vec<StageRecord>, StoreError>;

    // ---- logs ----

    /// Inserts a log line.
    async fn create_log(&mut self, log: NewLog, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// The logs of a run, oldest first.
    async fn logs_by_run(&mut self, run_id: &str) -> Result<Vec<LogRecord>, StoreError>;

    // ---- annotations ----

    /// Inserts annotations; a row whose `(run, key, idempotencyKey)` exists (non-null key) is skipped.
    /// Returns how many rows were inserted.
    async fn append_annotations(
        &mut self,
        rows: Vec<NewAnnotation>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;
    /// A run's annotations, ordered by `createdAt` then id, filtered and limited.
    async fn list_annotations(
        &mut self,
        run_id: &str,
        filter: &AnnotationFilter,
    ) -> Result<Vec<AnnotationRecord>, StoreError>;

    // ---- outbox ----

    /// Appends a run's events with consecutive per-run sequence numbers after the run's highest one.
    async fn append_outbox(
        &mut self,
        run_id: &str,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Unpublished, non-dead-lettered events ordered by run then sequence, at most `limit`.
    async fn unpublished_outbox(&mut self, limit: usize) -> Result<Vec<OutboxRecord>, StoreError>;
    /// Every outbox row of a run, by sequence.
    async fn outbox_by_run(&mut self, run_id: &str) -> Result<Vec<OutboxRecord>, StoreError>;
    /// Marks events delivered.
    async fn mark_outbox_published(
        &mut self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Adds one failed delivery; returns the new retry count.
    async fn increment_outbox_retry(&mut self, id: &str) -> Result<i32, StoreError>;
    /// Moves an event to the dead-letter queue.
    async fn move_outbox_to_dlq(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// Returns up to `limit` dead-lettered events to the queue (retry count 0); returns how many.
    async fn replay_dlq(&mut self, limit: usize) -> Result<usize, StoreError>;

    // ---- idempotency ----

    /// Takes the key for `command_type`: inserts an in-progress marker, or reports the cached result, or
    /// that another dispatch holds it. An in-progress marker older than `stale_after` is reclaimed atomically.
    async fn acquire_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        now: DateTime<Utc>,
        stale_after: Option<Duration>,
    ) -> Result<IdempotencyAcquire, StoreError>;
    /// Stores a command's result under its key.
    async fn complete_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        result: &Value,
    ) -> Result<(), StoreError>;
    /// Deletes an in-progress marker (after a failed command).
    async fn release_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<(), StoreError>;
    /// The stored result or marker of a key (for inspection).
    async fn get_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<Option<Value>, StoreError>;

    // ---- AI calls ----

    /// Inserts an AI call row (its id and `createdAt` are set by the caller, as Prisma Client sets them);
    /// returns its id.
    async fn log_ai_call(&mut self, call: AiCallRecord) -> Result<String, StoreError>;
    /// AI calls whose topic starts with `topic_prefix`, oldest first.
    async fn ai_calls_by_topic(
        &mut self,
        topic_prefix: &str,
    ) -> Result<Vec<AiCallRecord>, StoreError>;
}

/// The marker stored as the result of an in-progress idempotency key.
pub fn in_progress_marker() -> Value {
    serde_json::json!({ "__workflowEngineState": "in_progress" })
}

/// Whether a stored result is the in-progress marker.
pub fn is_in_progress_marker(value: &Value) -> bool {
    value.get("__workflowEngineState").and_then(Value::as_str) == Some("in_progress")
}

/// Statuses a stage row can still change from without a rerun.
pub fn stage_is_unfinished(status: Status) -> bool {
    matches!(
        status,
        Status::Pending | Status::Running | Status::Suspended
    )
}
