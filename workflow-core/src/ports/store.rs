//! The store port, in the shape of River's driver: a [`Store`] opens transactions ([`Tx`]) and autocommit
//! [`Executor`]s, and one [`Executor`] trait carries every operation on runs, stages, jobs, logs,
//! annotations, the outbox, idempotency keys and blobs. The kernel does each command's work on one
//! transaction and commits it once; no transaction is ever open while stage code runs.
//!
//! Every method takes the kernel's `now` for the timestamps it writes, so one clock stamps every row.
//! Composite operations ([`Executor::claim_jobs`], [`Executor::record_stage`], [`Executor::start_group`])
//! exist so that a backend can do the hot path in a few statements; their default implementations are
//! built from the single-row operations and are what the in-memory store uses.

use super::ai_calls::AiCallLog;
use super::error::StoreError;
use super::jobs::{
    ClaimedJob, JobClaim, JobEnd, JobLease, JobRecord, NewJob, StaleJobs, SuspendedJobEnd,
    UnreadableJob,
};
use super::queries::RunQueries;
use super::records::*;
use super::status::Status;
use crate::ids::{JobId, RunId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use super::writes::stage_is_unfinished;
pub use super::writes::{GroupStart, StageWrite, StageWritten};

/// Work a worker can be woken for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Jobs were enqueued (or released).
    Jobs,
    /// Runs were created `PENDING`.
    Runs,
    /// A stage suspended (the earliest `nextPollAt` may have moved).
    Suspended,
    /// Events were appended to the outbox.
    Events,
}

/// A database (or an in-memory stand-in) holding everything the engine persists.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Opens a transaction. Its writes are visible to others only after [`Tx::commit`]; dropping it
    /// uncommitted rolls everything back.
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// An executor whose every operation commits at once (reads see the latest committed state).
    async fn executor(&self) -> Result<Box<dyn Executor>, StoreError>;

    /// Waits until `signal` fires in this process (or, for backends that can hear other processes, in
    /// another one), or `max_wait` passes.
    async fn wait(&self, signal: Signal, max_wait: Duration);

    /// Wakes this process's waiters of `signal` and, for backends shared between processes, tells the
    /// others (PostgreSQL: a coalesced `NOTIFY`). The kernel calls it after a commit that made such work;
    /// code writing through an [`Executor`] directly calls it itself.
    fn notify(&self, signal: Signal);

    /// A short name for messages (`memory`, `sqlite`, `postgres`).
    fn kind(&self) -> &'static str;

    /// The store's `ai_calls` table, where `ctx.ai()` logs model calls when the kernel is not given
    /// another log. `None` (the default) for stores without one: AI calls then fail with a message
    /// saying so.
    fn ai_call_log(self: Arc<Self>) -> Option<Arc<dyn AiCallLog>> {
        None
    }
}

/// A transaction.
#[async_trait]
pub trait Tx: Executor {
    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Rolls back, releasing the transaction's row and advisory locks before it returns. Dropping a
    /// transaction also rolls it back, but a driver may send that rollback later (sqlx does, from the
    /// pool), and until then the locks are held: a job claim could pass over a run whose lock a
    /// finished no-op command still held. The default drops the transaction.
    async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
        drop(self);
        Ok(())
    }
}

/// The run a blob key belongs to (`workflow-v2/<workflowType>/<runId>/...`), if it has that layout.
pub fn blob_run_id(key: &str) -> Option<&str> {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("workflow-v2"), Some(_), Some(run)) if !run.is_empty() => Some(run),
        _ => None,
    }
}

/// Every operation of the store, on a transaction or autocommit (the read-only queries of tools and
/// status pages are in its supertrait [`RunQueries`]).
#[async_trait]
pub trait Executor: RunQueries + Send {
    // ---- runs ----

    /// Inserts a run (`PENDING`, version 1).
    async fn create_run(
        &mut self,
        run: NewRun,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError>;
    /// The run with this id.
    async fn get_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// The run with this id, locked (with its outbox sequence) until the transaction ends, so that
    /// concurrent writers of the run serialize; reads made after it see every earlier commit.
    async fn lock_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Updates a run, bumps its version and `updatedAt`. With `expected_version`, fails with
    /// [`StoreError::StaleVersion`] unless the stored version matches (an empty update is then a "claim").
    async fn update_run(
        &mut self,
        id: &str,
        update: RunUpdate,
        expected_version: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError>;
    /// Takes up to `limit` `PENDING` runs, highest priority then oldest, and sets them `RUNNING` with
    /// `startedAt = now` (version bumped). Concurrent callers never get the same run. A row that cannot be
    /// read comes back as [`StoreError::CorruptRow`] (claimed, so it can be quarantined).
    async fn claim_pending_runs(
        &mut self,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<RunRecord, StoreError>>, StoreError>;
    /// Marks a run `FAILED` with `output` without reading the row back (for a row that cannot be decoded).
    async fn quarantine_run(
        &mut self,
        id: &str,
        output: Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Ids of `RUNNING` runs with `updatedAt <= since`, no stage row updated after `since`, no
    /// `PENDING`/`RUNNING` job and no `SUSPENDED` stage (runs nothing is working on), oldest first, at most
    /// `limit`.
    async fn stuck_runs(
        &mut self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RunId>, StoreError>;

    // ---- stages ----

    /// Inserts stage rows. With `if_absent`, a row whose `(run, stageId)` exists is kept; without, it is an
    /// error. Returns the rows that exist afterwards, in input order.
    async fn insert_stages(
        &mut self,
        stages: Vec<NewStage>,
        if_absent: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<StageRecord>, StoreError>;
    /// Updates a stage row by record id (same conventions as [`update_run`](Executor::update_run)).
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
    /// `SUSPENDED` stages with `nextPollAt <= before`, earliest first, at most `limit`.
    async fn suspended_stages_due(
        &mut self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StageRecord>, StoreError>;
    /// The earliest `nextPollAt` of any `SUSPENDED` stage.
    async fn next_suspended_poll(&mut self) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Deletes every stage row of the run in `execution_group >= group`; returns the deleted rows.
    /// Annotations keep their data; their stage reference becomes null.
    async fn delete_stages_from_group(
        &mut self,
        run_id: &str,
        group: i32,
    ) -> Result<Vec<StageRecord>, StoreError>;

    // ---- logs and annotations ----

    /// Inserts log lines.
    async fn create_logs(
        &mut self,
        logs: Vec<NewLog>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The logs of a run, oldest first.
    async fn logs_by_run(&mut self, run_id: &str) -> Result<Vec<LogRecord>, StoreError>;
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

    /// Appends events, each run's with consecutive sequence numbers after the run's highest one (the run's
    /// outbox is locked first, unless [`lock_run`](Executor::lock_run) already did).
    async fn append_outbox(
        &mut self,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Locks and returns undelivered, non-dead-lettered events to deliver, in sequence order per run: only
    /// runs whose outbox no other transaction is delivering, and for each such run its earliest events, so
    /// that concurrent relays deliver every event once and in order. At most `limit` events.
    async fn claim_outbox(&mut self, limit: usize) -> Result<Vec<OutboxRecord>, StoreError>;
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
    /// that another dispatch holds it. An in-progress marker older than `stale_after` is reclaimed.
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
    /// The stored result or marker of a key.
    async fn get_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<Option<Value>, StoreError>;

    // ---- jobs ----

    /// Adds jobs (`PENDING`, attempt 0); returns their ids. Backends that can wake other processes do so
    /// when the transaction commits.
    async fn enqueue_jobs(
        &mut self,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobId>, StoreError>;
    /// Leases up to `claim.limit` claimable jobs of `claim.workflows`: `PENDING` with `nextPollAt` null or
    /// `<= now`, highest priority then oldest; each becomes `RUNNING` with `attempt + 1`, `workerId` and
    /// `lockedAt = startedAt = now`. A job's stage row becomes `RUNNING` (`startedAt = now`) when its run
    /// is `RUNNING` and the stage is not `COMPLETED`. Returns each job with its run and stage rows (a job
    /// job whose row, or whose run's or stage's row, cannot be read comes back as an [`UnreadableJob`],
    /// leased).
    async fn claim_jobs(
        &mut self,
        claim: &JobClaim,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ClaimedJob, UnreadableJob>>, StoreError>;
    /// Ends a job whose lease still holds: completed, suspended, or failed (back to `PENDING` at
    /// `retry_at` while `attempt < maxAttempts`, else `FAILED`). Returns the new status, or `None` when the
    /// lease was lost (nothing written).
    async fn end_job(
        &mut self,
        lease: &JobLease,
        end: &JobEnd,
        now: DateTime<Utc>,
    ) -> Result<Option<Status>, StoreError>;
    /// Refreshes `lockedAt` of a `RUNNING` job whose lease still holds (and the `updatedAt` of its stage
    /// row, so that reapers see the run is alive); `false` means the lease was lost.
    async fn touch_job(&mut self, lease: &JobLease, now: DateTime<Utc>)
    -> Result<bool, StoreError>;
    /// `RUNNING` jobs with `lockedAt < now - threshold`: back to `PENDING` (lock cleared) while
    /// `attempt < maxAttempts`, otherwise `FAILED` with `error`; the failed ones are returned.
    async fn release_stale_jobs(
        &mut self,
        threshold: Duration,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<StaleJobs, StoreError>;
    /// `PENDING` and `SUSPENDED` jobs of the run become `CANCELLED`; returns how many.
    async fn cancel_jobs_of_run(
        &mut self,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;
    /// Every job of a run, oldest first (reads the whole queue on the SQL stores, which have no index on
    /// the run: for tools and tests, not for the engine's own paths).
    async fn jobs_by_run(&mut self, run_id: &str) -> Result<Vec<JobRecord>, StoreError>;
    /// The `PENDING`, `RUNNING` and `SUSPENDED` jobs of a run, oldest first (index-backed by status).
    async fn active_jobs_of_run(&mut self, run_id: &str) -> Result<Vec<JobRecord>, StoreError>;
    /// Whether `lease` still holds (the job is `RUNNING` with that attempt; locked in a transaction).
    async fn lease_holds(&mut self, lease: &JobLease) -> Result<bool, StoreError>;
    /// Ends the `SUSPENDED` job of a stage resolved by polling; returns how many rows.
    async fn settle_suspended_job(
        &mut self,
        run_id: &str,
        stage_id: &str,
        end: SuspendedJobEnd,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;
    /// Fails a job that cannot be read, without reading it back.
    async fn quarantine_job(
        &mut self,
        id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    // ---- blobs (`workflow_artifacts` on the SQL stores) ----

    /// Stores values under keys (replacing existing ones).
    async fn put_blobs(
        &mut self,
        blobs: Vec<(String, Value)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The values of the keys that exist.
    async fn get_blobs(&mut self, keys: &[String]) -> Result<HashMap<String, Value>, StoreError>;
    /// Deletes a key (no error if missing).
    async fn delete_blob(&mut self, key: &str) -> Result<(), StoreError>;
    /// Keys starting with `prefix`, sorted.
    async fn list_blobs(&mut self, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// Deletes every key starting with `prefix`; returns how many.
    async fn delete_blob_prefix(&mut self, prefix: &str) -> Result<usize, StoreError>;

    // ---- composite operations of the hot path ----

    /// Records a stage outcome in one step: ends its job (if the lease still holds; otherwise nothing is
    /// written and `None` is returned), stores its blobs, updates the stage row and appends its events.
    async fn record_stage(
        &mut self,
        write: StageWrite,
        now: DateTime<Utc>,
    ) -> Result<Option<StageWritten>, StoreError> {
        let job_status = match &write.job {
            Some((lease, end)) => match self.end_job(lease, end, now).await? {
                Some(status) => Some(status),
                None => return Ok(None),
            },
            None => None,
        };
        if !write.blobs.is_empty() {
            self.put_blobs(write.blobs, now).await?;
        }
        self.update_stage(&write.stage_record_id, write.update, None, now)
            .await?;
        if !write.events.is_empty() {
            self.append_outbox(write.events, now).await?;
        }
        let stages = self.stages_by_run(&write.run_id).await?;
        Ok(Some(StageWritten { job_status, stages }))
    }

    /// Creates the rows of a group and enqueues a job for every row that is `PENDING` afterwards, and
    /// appends the group's events. Returns the rows with their new job ids.
    async fn start_group(
        &mut self,
        mut group: GroupStart,
        now: DateTime<Utc>,
    ) -> Result<Vec<(StageRecord, Option<JobId>)>, StoreError> {
        let rows = self
            .insert_stages(std::mem::take(&mut group.stages), group.if_absent, now)
            .await?;
        let jobs = group.jobs_for(&rows);
        let mut ids = self.enqueue_jobs(jobs, now).await?.into_iter();
        if !group.events.is_empty() {
            self.append_outbox(group.events, now).await?;
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let job = (row.status == Status::Pending)
                    .then(|| ids.next())
                    .flatten();
                (row, job)
            })
            .collect())
    }
}
