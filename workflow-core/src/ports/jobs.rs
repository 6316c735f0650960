//! The job transport port: the queue of stage executions.
//!
//! Worker-facing operations stand alone. Operations the kernel performs as part of a command
//! (`enqueue`, `cancel_by_run`, `jobs_by_run`, `check_lease`, `settle_suspended`) take the command's
//! [`Session`]: a transport that lives in the same store enlists in its transaction, so a claimed run and
//! its jobs commit together.

use super::error::StoreError;
use super::persistence::Session;
use super::status::Status;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// A `job_queue` row (`workflowId` travels inside `payload._workflowId` and is split out here).
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// cuid.
    pub id: String,
    /// Enqueue time.
    pub created_at: DateTime<Utc>,
    /// Last write.
    pub updated_at: DateTime<Utc>,
    /// The run.
    pub workflow_run_id: String,
    /// The workflow (from `payload._workflowId`).
    pub workflow_id: String,
    /// The stage to execute.
    pub stage_id: String,
    /// Job status.
    pub status: Status,
    /// Higher first.
    pub priority: i32,
    /// Deliveries so far; also the lease's fencing token.
    pub attempt: i32,
    /// Deliveries allowed.
    pub max_attempts: i32,
    /// The worker holding the lease.
    pub worker_id: Option<String>,
    /// Lease time, refreshed by heartbeats.
    pub locked_at: Option<DateTime<Utc>>,
    /// First dequeue of the current delivery.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
    /// Not claimable before this (retry backoff).
    pub next_poll_at: Option<DateTime<Utc>>,
    /// `{ config: <run config> }` (without `_workflowId`).
    pub payload: Value,
    /// The last failure.
    pub last_error: Option<String>,
}

impl JobRecord {
    /// The lease a worker holds on this job after dequeuing it.
    pub fn lease(&self) -> JobLease {
        JobLease {
            job_id: self.id.clone(),
            attempt: self.attempt,
        }
    }

    /// The run config carried by the job (`payload.config`, or `{}`).
    pub fn run_config(&self) -> Value {
        self.payload
            .get("config")
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()))
    }
}

/// A worker's claim on a job: the job id and the attempt it was dequeued with (the fencing token).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct JobLease {
    /// The job.
    pub job_id: String,
    /// The attempt at dequeue; writes with an older attempt are refused.
    pub attempt: i32,
}

/// Input of `enqueue`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// The run.
    pub workflow_run_id: String,
    /// The workflow.
    pub workflow_id: String,
    /// The stage.
    pub stage_id: String,
    /// Priority (the run's).
    pub priority: i32,
    /// `{ config: <run config> }`.
    pub payload: Value,
}

/// How a suspended stage's job ends when the stage is resolved by polling.
#[derive(Clone, Debug, PartialEq)]
pub enum SuspendedJobEnd {
    /// The stage completed.
    Completed,
    /// The stage failed with this message.
    Failed(String),
    /// The run was cancelled.
    Cancelled,
}

/// The queue of stage executions.
#[async_trait]
pub trait JobTransport: Send + Sync {
    /// Adds jobs (status `PENDING`, attempt 0) within `session`; returns their ids.
    async fn enqueue(
        &self,
        session: &mut dyn Session,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;

    /// Leases the next claimable job: `PENDING` with `nextPollAt` null or `<= now`, highest priority, then
    /// oldest. Sets it `RUNNING`, `attempt + 1`, `workerId`, `lockedAt = startedAt = now`.
    async fn dequeue(
        &self,
        worker_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<JobRecord>, StoreError>;

    /// Leases up to `limit` jobs at once (default: repeated [`dequeue`](JobTransport::dequeue)).
    async fn dequeue_batch(
        &self,
        worker_id: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs = Vec::new();
        while jobs.len() < limit {
            match self.dequeue(worker_id, now).await? {
                Some(job) => jobs.push(job),
                None => break,
            }
        }
        Ok(jobs)
    }

    /// `RUNNING` → `COMPLETED`, if `lease` still holds; returns whether it did.
    async fn complete(&self, lease: &JobLease, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// `RUNNING` → `SUSPENDED` (lock cleared), if `lease` still holds.
    async fn suspend(
        &self,
        lease: &JobLease,
        next_poll_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records a failure, if `lease` still holds: with `retry_at` and `attempt < maxAttempts` the job goes
    /// back to `PENDING` (claimable from `retry_at`), otherwise it becomes `FAILED`. Returns the new status,
    /// or `None` if the lease was lost.
    async fn fail(
        &self,
        lease: &JobLease,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Status>, StoreError>;

    /// Refreshes `lockedAt` of a `RUNNING` job whose lease still holds; `false` means the lease was lost.
    async fn touch(&self, lease: &JobLease, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// `RUNNING` jobs with `lockedAt < now - threshold` go back to `PENDING` (lock cleared, attempt kept).
    async fn release_stale(
        &self,
        threshold: Duration,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// `PENDING` and `SUSPENDED` jobs of the run become `CANCELLED` (within `session`); returns how many.
    async fn cancel_by_run(
        &self,
        session: &mut dyn Session,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// Every job of a run (within `session`).
    async fn jobs_by_run(
        &self,
        session: &mut dyn Session,
        run_id: &str,
    ) -> Result<Vec<JobRecord>, StoreError>;

    /// Whether `lease` still holds (the job is `RUNNING` with that attempt), checked within `session` so a
    /// write made in the same transaction is fenced.
    async fn check_lease(
        &self,
        session: &mut dyn Session,
        lease: &JobLease,
    ) -> Result<bool, StoreError>;

    /// Ends the `SUSPENDED` job of a stage resolved by polling (within `session`); returns how many rows.
    async fn settle_suspended(
        &self,
        session: &mut dyn Session,
        run_id: &str,
        stage_id: &str,
        end: SuspendedJobEnd,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError>;

    /// Waits until jobs may be available or `max_wait` elapses. Transports that can be woken (in-process
    /// notify, PostgreSQL `LISTEN`) return early; the default just sleeps.
    async fn wait_for_jobs(&self, max_wait: Duration) {
        tokio::time::sleep(max_wait).await;
    }

    /// Wakes waiters of [`wait_for_jobs`](JobTransport::wait_for_jobs) after jobs were enqueued and committed.
    fn notify_enqueued(&self) {}
}
