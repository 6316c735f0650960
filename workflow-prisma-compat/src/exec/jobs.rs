//! Job operations (both databases). The workflow id travels in `payload._workflowId`, as the Prisma job
//! queue stores it.

use super::{SqlExecutor, failed};
use crate::codec::{Json, StatusText, Ts};
use crate::sql::{Dialect, statements};
use crate::tables::Decoded;
use chrono::{DateTime, Utc};
use serde_json::Value;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use std::time::Duration;
use workflow_core::ids::JobId;
use workflow_core::ports::{JobEnd, JobLease, JobRecord, NewJob, StaleJobs, SuspendedJobEnd};
use workflow_core::ports::{Status, StoreError};

/// The stored payload of a job: its `payload` with `_workflowId` added.
pub(crate) fn stored_payload(job: &NewJob) -> Value {
    let mut payload = match &job.payload {
        Value::Object(map) => map.clone(),
        other => [("value".to_owned(), other.clone())].into_iter().collect(),
    };
    payload.insert(
        "_workflowId".into(),
        Value::String(job.workflow_id.to_string()),
    );
    Value::Object(payload)
}

macro_rules! jobs_ops {
    ($db:ty, $dialect:expr) => {
        impl SqlExecutor<$db> {
            /// Inserts jobs one statement each (the batched insert of a group is in `start_group`).
            pub(crate) async fn op_insert_jobs(
                &mut self,
                jobs: Vec<NewJob>,
                now: DateTime<Utc>,
            ) -> Result<Vec<JobId>, StoreError> {
                let mut ids = Vec::with_capacity(jobs.len());
                for job in jobs {
                    let id = JobId::from(workflow_core::ids::cuid());
                    let query = sqlx::query(statements($dialect).insert_job)
                        .bind(id.clone())
                        .bind(Ts(now))
                        .bind(job.workflow_run_id.clone())
                        .bind(job.stage_id.clone())
                        .bind(job.priority)
                        .bind(Json(stored_payload(&job)));
                    on!(self, write, |e| query.execute(e).await)
                        .map_err(failed("enqueue a job"))?;
                    ids.push(id);
                }
                Ok(ids)
            }

            pub(crate) async fn op_end_job(
                &mut self,
                lease: &JobLease,
                end: &JobEnd,
                now: DateTime<Utc>,
            ) -> Result<Option<Status>, StoreError> {
                let sql = statements($dialect);
                let query = match end {
                    JobEnd::Complete => sqlx::query_scalar::<_, StatusText>(sql.complete_job)
                        .bind(lease.job_id.clone())
                        .bind(lease.attempt)
                        .bind(Ts(now)),
                    JobEnd::Suspend { next_poll_at } => {
                        sqlx::query_scalar::<_, StatusText>(sql.suspend_job)
                            .bind(lease.job_id.clone())
                            .bind(lease.attempt)
                            .bind(Ts(now))
                            .bind(Ts(*next_poll_at))
                    }
                    JobEnd::Fail { error, retry_at } => {
                        sqlx::query_scalar::<_, StatusText>(sql.fail_job)
                            .bind(lease.job_id.clone())
                            .bind(lease.attempt)
                            .bind(Ts(now))
                            .bind(error.clone())
                            .bind(retry_at.map(Ts))
                    }
                };
                on!(self, write, |e| query.fetch_optional(e).await)
                    .map(|status| status.map(|s| s.0))
                    .map_err(failed("end a job"))
            }

            pub(crate) async fn op_touch_job(
                &mut self,
                lease: &JobLease,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let sql = statements($dialect);
                let query = sqlx::query_as::<_, (String, String)>(sql.touch_job)
                    .bind(lease.job_id.clone())
                    .bind(lease.attempt)
                    .bind(Ts(now));
                let held = on!(self, write, |e| query.fetch_optional(e).await)
                    .map_err(failed("refresh a job lease"))?;
                let Some((run_id, stage_id)) = held else {
                    return Ok(false);
                };
                // The stage row shows activity too, so that reapers (this engine's and others') see a live run.
                let query = sqlx::query(sql.touch_stage)
                    .bind(run_id)
                    .bind(stage_id)
                    .bind(Ts(now));
                on!(self, write, |e| query.execute(e).await)
                    .map_err(failed("refresh a stage row"))?;
                Ok(true)
            }

            pub(crate) async fn op_release_stale_jobs(
                &mut self,
                threshold: Duration,
                error: &str,
                now: DateTime<Utc>,
            ) -> Result<StaleJobs, StoreError> {
                let cutoff = workflow_core::time::sub(now, threshold);
                let query = sqlx::query_as::<_, Decoded<JobRecord>>(
                    statements($dialect).release_stale_jobs,
                )
                .bind(Ts(now))
                .bind(Ts(cutoff))
                .bind(error.to_owned());
                let jobs: Vec<JobRecord> = on!(self, write, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("release stale leases"))?;
                let (exhausted, released): (Vec<JobRecord>, Vec<JobRecord>) = jobs
                    .into_iter()
                    .partition(|job| job.status == Status::Failed);
                Ok(StaleJobs {
                    released: released.len(),
                    exhausted,
                })
            }

            pub(crate) async fn op_cancel_jobs_of_run(
                &mut self,
                run_id: &str,
                now: DateTime<Utc>,
            ) -> Result<usize, StoreError> {
                let query = sqlx::query(statements($dialect).cancel_jobs_of_run)
                    .bind(run_id)
                    .bind(Ts(now));
                on!(self, write, |e| query.execute(e).await)
                    .map(|done| done.rows_affected() as usize)
                    .map_err(failed("cancel a run's jobs"))
            }

            pub(crate) async fn op_jobs_of_run(
                &mut self,
                run_id: &str,
                active_only: bool,
            ) -> Result<Vec<JobRecord>, StoreError> {
                let sql = if active_only {
                    statements($dialect).active_jobs_of_run
                } else {
                    statements($dialect).jobs_by_run
                };
                let query = sqlx::query_as::<_, Decoded<JobRecord>>(sql).bind(run_id);
                on!(self, read, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("read a run's jobs"))
            }

            pub(crate) async fn op_lease_holds(
                &mut self,
                lease: &JobLease,
            ) -> Result<bool, StoreError> {
                let query = sqlx::query_scalar::<_, String>(statements($dialect).lease_holds)
                    .bind(lease.job_id.clone())
                    .bind(lease.attempt);
                on!(self, write, |e| query.fetch_optional(e).await)
                    .map(|row| row.is_some())
                    .map_err(failed("check a job lease"))
            }

            pub(crate) async fn op_settle_suspended_job(
                &mut self,
                run_id: &str,
                stage_id: &str,
                end: SuspendedJobEnd,
                now: DateTime<Utc>,
            ) -> Result<usize, StoreError> {
                let sql = statements($dialect);
                let query = match &end {
                    SuspendedJobEnd::Completed => sqlx::query(sql.settle_completed),
                    SuspendedJobEnd::Cancelled => sqlx::query(sql.settle_cancelled),
                    SuspendedJobEnd::Failed(_) => sqlx::query(sql.settle_failed),
                }
                .bind(run_id.to_owned())
                .bind(stage_id.to_owned())
                .bind(Ts(now));
                let query = match end {
                    SuspendedJobEnd::Failed(error) => query.bind(error),
                    _ => query,
                };
                on!(self, write, |e| query.execute(e).await)
                    .map(|done| done.rows_affected() as usize)
                    .map_err(failed("settle a suspended job"))
            }

            pub(crate) async fn op_quarantine_job(
                &mut self,
                id: &str,
                error: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let query = sqlx::query(statements($dialect).quarantine_job)
                    .bind(id)
                    .bind(error)
                    .bind(Ts(now));
                on!(self, write, |e| query.execute(e).await)
                    .map(drop)
                    .map_err(failed("quarantine a job"))
            }
        }
    };
}

#[cfg(feature = "postgres")]
jobs_ops!(Postgres, Dialect::Postgres);
#[cfg(feature = "sqlite")]
jobs_ops!(Sqlite, Dialect::Sqlite);
