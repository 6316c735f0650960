//! Jobs: the rows of `job_queue` (the queue of stage executions) and the values the store's job
//! operations take and return.

use super::records::{RunRecord, StageRecord};
use super::status::Status;
use crate::ids::{JobId, RunId, StageId, WorkflowId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A `job_queue` row (`workflowId` travels inside `payload._workflowId` and is split out here).
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// The job's cuid (`job_queue.id`).
    pub id: JobId,
    /// When the job was enqueued.
    pub created_at: DateTime<Utc>,
    /// When the row was last written (also by heartbeats).
    pub updated_at: DateTime<Utc>,
    /// The run whose stage this job executes.
    pub workflow_run_id: RunId,
    /// The workflow (from `payload._workflowId`).
    pub workflow_id: WorkflowId,
    /// The stage to execute.
    pub stage_id: StageId,
    /// `PENDING` (claimable), `RUNNING` (leased), `SUSPENDED`, `COMPLETED`, `FAILED` or `CANCELLED`.
    pub status: Status,
    /// Claim priority, the run's: higher is leased first, then older.
    pub priority: i32,
    /// Deliveries so far; also the lease's fencing token.
    pub attempt: i32,
    /// Deliveries allowed before the job fails for good (default 3).
    pub max_attempts: i32,
    /// The worker holding the lease.
    pub worker_id: Option<String>,
    /// Lease time, refreshed by heartbeats.
    pub locked_at: Option<DateTime<Utc>>,
    /// First dequeue of the current delivery.
    pub started_at: Option<DateTime<Utc>>,
    /// When the job reached `COMPLETED`, `FAILED` or `CANCELLED`.
    pub completed_at: Option<DateTime<Utc>>,
    /// Not claimable before this (retry backoff).
    pub next_poll_at: Option<DateTime<Utc>>,
    /// `{ config: <run config> }` (without `_workflowId`).
    pub payload: Value,
    /// The error of the last failed delivery (`lastError`).
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
    /// The leased job.
    pub job_id: JobId,
    /// The attempt at dequeue; writes with an older attempt are refused.
    pub attempt: i32,
}

/// Input of `enqueue`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// The run whose stage the job executes.
    pub workflow_run_id: RunId,
    /// The run's workflow (written to the job's payload as `_workflowId`, as the reference does).
    pub workflow_id: WorkflowId,
    /// The stage the job executes.
    pub stage_id: StageId,
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

/// How a leased job ends ([`Executor::end_job`](super::Executor::end_job)).
#[derive(Clone, Debug, PartialEq)]
pub enum JobEnd {
    /// `COMPLETED`.
    Complete,
    /// `SUSPENDED` until `next_poll_at` (lock cleared).
    Suspend {
        /// When the stage is polled.
        next_poll_at: DateTime<Utc>,
    },
    /// Failed: back to `PENDING` at `retry_at` while `attempt < maxAttempts`, otherwise `FAILED`.
    Fail {
        /// The failure (`lastError`).
        error: String,
        /// When it may run again; `None` never retries.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// What a worker asks of [`Executor::claim_jobs`](super::Executor::claim_jobs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobClaim {
    /// The worker taking the leases (`workerId`).
    pub worker_id: String,
    /// At most this many jobs.
    pub limit: usize,
    /// Only jobs of these workflows (the ones the worker can run; other workers of a shared database may
    /// run the rest).
    pub workflows: Vec<String>,
}

/// A job leased by [`Executor::claim_jobs`](super::Executor::claim_jobs), with its run and stage rows.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedJob {
    /// The job, `RUNNING` under this worker's lease.
    pub job: JobRecord,
    /// Its run as the claim saw it (`None` if the run is gone).
    pub run: Option<RunRecord>,
    /// Its stage row: `RUNNING` when `started`, otherwise as it was (`None` if there is no row).
    pub stage: Option<StageRecord>,
    /// Whether the claim marked the stage `RUNNING` (its run is `RUNNING` and it had not completed).
    pub started: bool,
}

/// A job [`Executor::claim_jobs`](super::Executor::claim_jobs) leased but could not read with its rows:
/// the job row itself, or its run's or stage's row, holds a value that cannot be decoded. The kernel
/// quarantines the job (fails it with the error) so that the rest of the queue is served.
#[derive(Debug)]
pub struct UnreadableJob {
    /// The job's `id`.
    pub job_id: JobId,
    /// What could not be read ([`StoreError::CorruptRow`](super::StoreError::CorruptRow) naming the table,
    /// row and column).
    pub error: super::StoreError,
}

/// What [`Executor::release_stale_jobs`](super::Executor::release_stale_jobs) did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StaleJobs {
    /// Jobs returned to `PENDING`.
    pub released: usize,
    /// Jobs that had used up their attempts and became `FAILED` (their stages still need failing).
    pub exhausted: Vec<JobRecord>,
}

/// Whether a claim marks a job's stage `RUNNING`: its run is `RUNNING` and the stage row exists and has not
/// completed (a duplicate delivery of a finished stage leaves it as it is).
pub fn claim_starts_stage(
    run: Option<&super::RunRecord>,
    stage: Option<&super::StageRecord>,
) -> bool {
    run.is_some_and(|r| r.status == super::Status::Running)
        && stage.is_some_and(|s| s.status != super::Status::Completed)
}
