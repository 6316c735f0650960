//! The port traits for both databases: each method forwards to the operation written in `runs.rs`,
//! `jobs.rs`, `records.rs`, or to the database's own composite operation.

use super::{Holder, SqlExecutor, failed};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use std::collections::HashMap;
use std::time::Duration;
use workflow_core::ids::{JobId, RunId};
use workflow_core::ports::*;
use workflow_core::ports::{ClaimedJob, JobClaim, JobEnd, JobLease, JobRecord, NewJob, StaleJobs};

macro_rules! executor_impl {
    ($db:ty) => {
        #[async_trait]
        impl Tx for SqlExecutor<$db> {
            async fn commit(self: Box<Self>) -> Result<(), StoreError> {
                match self.holder {
                    Holder::Tx(tx) => tx.commit().await.map_err(failed("commit")),
                    Holder::Pools { .. } => Ok(()),
                }
            }

            async fn rollback(self: Box<Self>) -> Result<(), StoreError> {
                match self.holder {
                    Holder::Tx(tx) => tx.rollback().await.map_err(failed("roll back")),
                    Holder::Pools { .. } => Ok(()),
                }
            }
        }

        #[async_trait]
        impl Executor for SqlExecutor<$db> {
            async fn create_run(
                &mut self,
                run: NewRun,
                now: DateTime<Utc>,
            ) -> Result<RunRecord, StoreError> {
                self.op_create_run(run, now).await
            }
            async fn get_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError> {
                self.op_get_run(id).await
            }
            async fn lock_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError> {
                self.op_lock_run(id).await
            }
            async fn update_run(
                &mut self,
                id: &str,
                update: RunUpdate,
                expected: Option<i32>,
                now: DateTime<Utc>,
            ) -> Result<RunRecord, StoreError> {
                self.op_update_run(id, update, expected, now).await
            }
            async fn claim_pending_runs(
                &mut self,
                limit: usize,
                now: DateTime<Utc>,
            ) -> Result<Vec<Result<RunRecord, StoreError>>, StoreError> {
                self.op_claim_pending_runs(limit, now).await
            }
            async fn quarantine_run(
                &mut self,
                id: &str,
                output: Value,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.op_quarantine_run(id, output, now).await
            }
            async fn stuck_runs(
                &mut self,
                since: DateTime<Utc>,
                limit: usize,
            ) -> Result<Vec<RunId>, StoreError> {
                self.op_stuck_runs(since, limit).await
            }
            async fn insert_stages(
                &mut self,
                stages: Vec<NewStage>,
                if_absent: bool,
                now: DateTime<Utc>,
            ) -> Result<Vec<StageRecord>, StoreError> {
                self.dialect_insert_stages(stages, if_absent, now).await
            }
            async fn update_stage(
                &mut self,
                id: &str,
                update: StageUpdate,
                expected: Option<i32>,
                now: DateTime<Utc>,
            ) -> Result<StageRecord, StoreError> {
                self.op_update_stage(id, update, expected, now).await
            }
            async fn get_stage(
                &mut self,
                run_id: &str,
                stage_id: &str,
            ) -> Result<Option<StageRecord>, StoreError> {
                self.op_get_stage(run_id, stage_id).await
            }
            async fn stages_by_run(
                &mut self,
                run_id: &str,
            ) -> Result<Vec<StageRecord>, StoreError> {
                self.op_stages_by_run(run_id).await
            }
            async fn suspended_stages_due(
                &mut self,
                before: DateTime<Utc>,
                limit: usize,
            ) -> Result<Vec<StageRecord>, StoreError> {
                self.op_suspended_stages_due(before, limit).await
            }
            async fn next_suspended_poll(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
                self.op_next_suspended_poll().await
            }
            async fn delete_stages_from_group(
                &mut self,
                run_id: &str,
                group: i32,
            ) -> Result<Vec<StageRecord>, StoreError> {
                self.op_delete_stages_from_group(run_id, group).await
            }
            async fn create_logs(
                &mut self,
                logs: Vec<NewLog>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.op_create_logs(logs, now).await
            }
            async fn logs_by_run(&mut self, run_id: &str) -> Result<Vec<LogRecord>, StoreError> {
                self.op_logs_by_run(run_id).await
            }
            async fn append_annotations(
                &mut self,
                rows: Vec<NewAnnotation>,
                now: DateTime<Utc>,
            ) -> Result<usize, StoreError> {
                self.op_append_annotations(rows, now).await
            }
            async fn list_annotations(
                &mut self,
                run_id: &str,
                filter: &AnnotationFilter,
            ) -> Result<Vec<AnnotationRecord>, StoreError> {
                self.op_list_annotations(run_id, filter).await
            }
            async fn append_outbox(
                &mut self,
                events: Vec<NewOutboxEvent>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.dialect_append_outbox(events, now).await
            }
            async fn claim_outbox(
                &mut self,
                limit: usize,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                self.op_claim_outbox(limit).await
            }
            async fn outbox_by_run(
                &mut self,
                run_id: &str,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                self.op_outbox_by_run(run_id).await
            }
            async fn mark_outbox_published(
                &mut self,
                ids: &[String],
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.op_mark_outbox_published(ids, now).await
            }
            async fn increment_outbox_retry(&mut self, id: &str) -> Result<i32, StoreError> {
                self.op_increment_outbox_retry(id).await
            }
            async fn move_outbox_to_dlq(
                &mut self,
                id: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.op_move_outbox_to_dlq(id, now).await
            }
            async fn replay_dlq(&mut self, limit: usize) -> Result<usize, StoreError> {
                self.op_replay_dlq(limit).await
            }
            async fn acquire_idempotency_key(
                &mut self,
                key: &str,
                command_type: &str,
                now: DateTime<Utc>,
                stale_after: Option<Duration>,
            ) -> Result<IdempotencyAcquire, StoreError> {
                self.op_acquire_idempotency_key(key, command_type, now, stale_after)
                    .await
            }
            async fn complete_idempotency_key(
                &mut self,
                key: &str,
                command_type: &str,
                result: &Value,
            ) -> Result<(), StoreError> {
                self.op_complete_idempotency_key(key, command_type, result)
                    .await
            }
            async fn release_idempotency_key(
                &mut self,
                key: &str,
                command_type: &str,
            ) -> Result<(), StoreError> {
                self.op_release_idempotency_key(key, command_type).await
            }
            async fn get_idempotency_key(
                &mut self,
                key: &str,
                command_type: &str,
            ) -> Result<Option<Value>, StoreError> {
                self.op_get_idempotency_key(key, command_type).await
            }
            async fn enqueue_jobs(
                &mut self,
                jobs: Vec<NewJob>,
                now: DateTime<Utc>,
            ) -> Result<Vec<JobId>, StoreError> {
                self.dialect_enqueue_jobs(jobs, now).await
            }
            async fn claim_jobs(
                &mut self,
                claim: &JobClaim,
                now: DateTime<Utc>,
            ) -> Result<Vec<Result<ClaimedJob, UnreadableJob>>, StoreError> {
                self.dialect_claim_jobs(claim, now).await
            }
            async fn end_job(
                &mut self,
                lease: &JobLease,
                end: &JobEnd,
                now: DateTime<Utc>,
            ) -> Result<Option<Status>, StoreError> {
                self.op_end_job(lease, end, now).await
            }
            async fn touch_job(
                &mut self,
                lease: &JobLease,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                self.op_touch_job(lease, now).await
            }
            async fn release_stale_jobs(
                &mut self,
                threshold: Duration,
                error: &str,
                now: DateTime<Utc>,
            ) -> Result<StaleJobs, StoreError> {
                self.op_release_stale_jobs(threshold, error, now).await
            }
            async fn cancel_jobs_of_run(
                &mut self,
                run_id: &str,
                now: DateTime<Utc>,
            ) -> Result<usize, StoreError> {
                self.op_cancel_jobs_of_run(run_id, now).await
            }
            async fn jobs_by_run(&mut self, run_id: &str) -> Result<Vec<JobRecord>, StoreError> {
                self.op_jobs_of_run(run_id, false).await
            }
            async fn active_jobs_of_run(
                &mut self,
                run_id: &str,
            ) -> Result<Vec<JobRecord>, StoreError> {
                self.op_jobs_of_run(run_id, true).await
            }
            async fn lease_holds(&mut self, lease: &JobLease) -> Result<bool, StoreError> {
                self.op_lease_holds(lease).await
            }
            async fn settle_suspended_job(
                &mut self,
                run_id: &str,
                stage_id: &str,
                end: SuspendedJobEnd,
                now: DateTime<Utc>,
            ) -> Result<usize, StoreError> {
                self.op_settle_suspended_job(run_id, stage_id, end, now)
                    .await
            }
            async fn quarantine_job(
                &mut self,
                id: &str,
                error: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.op_quarantine_job(id, error, now).await
            }
            async fn put_blobs(
                &mut self,
                blobs: Vec<(String, Value)>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                self.dialect_put_blobs(blobs, now).await
            }
            async fn get_blobs(
                &mut self,
                keys: &[String],
            ) -> Result<HashMap<String, Value>, StoreError> {
                self.dialect_get_blobs(keys).await
            }
            async fn delete_blob(&mut self, key: &str) -> Result<(), StoreError> {
                self.op_delete_blob(key).await
            }
            async fn list_blobs(&mut self, prefix: &str) -> Result<Vec<String>, StoreError> {
                self.op_list_blobs(prefix).await
            }
            async fn delete_blob_prefix(&mut self, prefix: &str) -> Result<usize, StoreError> {
                self.op_delete_blob_prefix(prefix).await
            }
            async fn record_stage(
                &mut self,
                write: StageWrite,
                now: DateTime<Utc>,
            ) -> Result<Option<StageWritten>, StoreError> {
                self.dialect_record_stage(write, now).await
            }
            async fn start_group(
                &mut self,
                group: GroupStart,
                now: DateTime<Utc>,
            ) -> Result<Vec<(StageRecord, Option<JobId>)>, StoreError> {
                self.dialect_start_group(group, now).await
            }
        }
    };
}

#[cfg(feature = "postgres")]
executor_impl!(Postgres);
#[cfg(feature = "sqlite")]
executor_impl!(Sqlite);
