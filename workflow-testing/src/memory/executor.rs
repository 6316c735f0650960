//! The [`Executor`] port of the in-memory store: every operation runs on the session's tables (see
//! `session.rs` for how transactions and autocommit hold them).

use super::session::MemorySession;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use workflow_core::ids::{JobId, RunId};
use workflow_core::ports::*;
use workflow_core::ports::{ClaimedJob, JobClaim, JobEnd, JobLease, JobRecord, NewJob, StaleJobs};

#[async_trait]
impl Executor for MemorySession {
    async fn create_run(
        &mut self,
        run: NewRun,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        Ok(self.with(|t| t.create_run(run, now)).await)
    }

    async fn get_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self.with(|t| t.run(id).cloned()).await)
    }

    async fn lock_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.get_run(id).await
    }

    async fn update_run(
        &mut self,
        id: &str,
        update: RunUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        self.with(|t| t.update_run(id, update, expected, now)).await
    }

    async fn claim_pending_runs(
        &mut self,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<RunRecord, StoreError>>, StoreError> {
        let runs = self.with(|t| t.claim_pending_runs(limit, now)).await;
        Ok(runs.into_iter().map(Ok).collect())
    }

    async fn quarantine_run(
        &mut self,
        id: &str,
        output: Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| t.quarantine_run(id, output, now)).await;
        Ok(())
    }

    async fn stuck_runs(
        &mut self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RunId>, StoreError> {
        Ok(self.with(|t| t.stuck_runs(since, limit)).await)
    }

    async fn insert_stages(
        &mut self,
        stages: Vec<NewStage>,
        if_absent: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<StageRecord>, StoreError> {
        self.with(|t| t.insert_stages(stages, if_absent, now)).await
    }

    async fn update_stage(
        &mut self,
        id: &str,
        update: StageUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        self.with(|t| t.update_stage(id, update, expected, now))
            .await
    }

    async fn get_stage(
        &mut self,
        run_id: &str,
        stage_id: &str,
    ) -> Result<Option<StageRecord>, StoreError> {
        Ok(self
            .with(|t| t.stage_by_key(run_id, stage_id).cloned())
            .await)
    }

    async fn stages_by_run(&mut self, run_id: &str) -> Result<Vec<StageRecord>, StoreError> {
        Ok(self.with(|t| t.stages_by_run(run_id)).await)
    }

    async fn suspended_stages_due(
        &mut self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StageRecord>, StoreError> {
        Ok(self.with(|t| t.suspended_due(before, limit)).await)
    }

    async fn next_suspended_poll(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.with(|t| t.next_suspended_poll()).await)
    }

    async fn delete_stages_from_group(
        &mut self,
        run_id: &str,
        group: i32,
    ) -> Result<Vec<StageRecord>, StoreError> {
        Ok(self
            .with(|t| t.delete_stages_from_group(run_id, group))
            .await)
    }

    async fn create_logs(
        &mut self,
        logs: Vec<NewLog>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| t.create_logs(logs, now)).await;
        Ok(())
    }

    async fn logs_by_run(&mut self, run_id: &str) -> Result<Vec<LogRecord>, StoreError> {
        Ok(self
            .with(|t| t.logs_of_run(run_id).into_iter().cloned().collect())
            .await)
    }

    async fn append_annotations(
        &mut self,
        rows: Vec<NewAnnotation>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.with(|t| t.append_annotations(rows, now)).await)
    }

    async fn list_annotations(
        &mut self,
        run_id: &str,
        filter: &AnnotationFilter,
    ) -> Result<Vec<AnnotationRecord>, StoreError> {
        Ok(self.with(|t| t.list_annotations(run_id, filter)).await)
    }

    async fn append_outbox(
        &mut self,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| t.append_outbox(events, now)).await;
        Ok(())
    }

    async fn claim_outbox(&mut self, limit: usize) -> Result<Vec<OutboxRecord>, StoreError> {
        Ok(self.with(|t| t.claim_outbox(limit)).await)
    }

    async fn outbox_by_run(&mut self, run_id: &str) -> Result<Vec<OutboxRecord>, StoreError> {
        Ok(self
            .with(|t| t.outbox_of_run(run_id).into_iter().cloned().collect())
            .await)
    }

    async fn mark_outbox_published(
        &mut self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            for id in ids {
                t.change_outbox(id, |event| event.published_at = Some(now))?;
            }
            Ok(())
        })
        .await
    }

    async fn increment_outbox_retry(&mut self, id: &str) -> Result<i32, StoreError> {
        self.with(|t| t.change_outbox(id, |event| event.retry_count += 1))
            .await
    }

    async fn move_outbox_to_dlq(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|t| t.change_outbox(id, |event| event.dlq_at = Some(now)))
            .await
            .map(drop)
    }

    async fn replay_dlq(&mut self, limit: usize) -> Result<usize, StoreError> {
        Ok(self.with(|t| t.replay_dlq(limit)).await)
    }

    async fn acquire_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        now: DateTime<Utc>,
        stale_after: Option<Duration>,
    ) -> Result<IdempotencyAcquire, StoreError> {
        Ok(self
            .with(|t| t.acquire_idempotency_key(key, command_type, now, stale_after))
            .await)
    }

    async fn complete_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        result: &Value,
    ) -> Result<(), StoreError> {
        self.with(|t| t.complete_idempotency_key(key, command_type, result))
            .await;
        Ok(())
    }

    async fn release_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<(), StoreError> {
        self.with(|t| t.set_idempotency(key, command_type, None))
            .await;
        Ok(())
    }

    async fn get_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<Option<Value>, StoreError> {
        Ok(self
            .with(|t| {
                t.idempotency_row(key, command_type)
                    .map(|row| row.result.clone())
            })
            .await)
    }

    async fn enqueue_jobs(
        &mut self,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobId>, StoreError> {
        let max_attempts = self.max_attempts;
        Ok(self.with(|t| t.enqueue_jobs(jobs, max_attempts, now)).await)
    }

    async fn claim_jobs(
        &mut self,
        claim: &JobClaim,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ClaimedJob, UnreadableJob>>, StoreError> {
        let claimed = self.with(|t| t.claim_jobs(claim, now)).await;
        Ok(claimed.into_iter().map(Ok).collect())
    }

    async fn end_job(
        &mut self,
        lease: &JobLease,
        end: &JobEnd,
        now: DateTime<Utc>,
    ) -> Result<Option<Status>, StoreError> {
        Ok(self.with(|t| t.end_job(lease, end, now)).await)
    }

    async fn touch_job(
        &mut self,
        lease: &JobLease,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|t| t.touch_job(lease, now)).await)
    }

    async fn release_stale_jobs(
        &mut self,
        threshold: Duration,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<StaleJobs, StoreError> {
        Ok(self
            .with(|t| t.release_stale_jobs(threshold, error, now))
            .await)
    }

    async fn cancel_jobs_of_run(
        &mut self,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.with(|t| t.cancel_jobs_of_run(run_id, now)).await)
    }

    async fn jobs_by_run(&mut self, run_id: &str) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self
            .with(|t| t.jobs_of_run(run_id).into_iter().cloned().collect())
            .await)
    }

    async fn active_jobs_of_run(&mut self, run_id: &str) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self
            .with(|t| {
                t.jobs_of_run(run_id)
                    .into_iter()
                    .filter(|j| {
                        matches!(
                            j.status,
                            Status::Pending | Status::Running | Status::Suspended
                        )
                    })
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn lease_holds(&mut self, lease: &JobLease) -> Result<bool, StoreError> {
        Ok(self.with(|t| t.lease_holds(lease)).await)
    }

    async fn settle_suspended_job(
        &mut self,
        run_id: &str,
        stage_id: &str,
        end: SuspendedJobEnd,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self
            .with(|t| t.settle_suspended_job(run_id, stage_id, &end, now))
            .await)
    }

    async fn quarantine_job(
        &mut self,
        id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| t.quarantine_job(id, error, now)).await
    }

    async fn put_blobs(
        &mut self,
        blobs: Vec<(String, Value)>,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| t.put_blobs(blobs)).await;
        Ok(())
    }

    async fn get_blobs(&mut self, keys: &[String]) -> Result<HashMap<String, Value>, StoreError> {
        Ok(self.with(|t| t.get_blobs(keys)).await)
    }

    async fn delete_blob(&mut self, key: &str) -> Result<(), StoreError> {
        self.with(|t| t.set_blob(key, None)).await;
        Ok(())
    }

    async fn list_blobs(&mut self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.with(|t| t.list_blobs(prefix)).await)
    }

    async fn delete_blob_prefix(&mut self, prefix: &str) -> Result<usize, StoreError> {
        Ok(self.with(|t| t.delete_blob_prefix(prefix)).await)
    }
}
