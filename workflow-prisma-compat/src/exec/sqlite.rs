//! SQLite's composite operations, as sequences of the single-row statements: every transaction runs on
//! the store's one writer connection, and statements are calls into the library, not round trips.

use super::{SqlExecutor, blob_run, failed};
use crate::codec::{Json, StatusText, Ts};
use crate::sql::statements::sqlite_claim_jobs;
use crate::sql::{Dialect, statements};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Sqlite;
use std::collections::HashMap;
use workflow_core::ids::{JobId, RunId, StageId, cuid};
use workflow_core::ports::*;

impl SqlExecutor<Sqlite> {
    pub(crate) async fn dialect_enqueue_jobs(
        &mut self,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobId>, StoreError> {
        self.op_insert_jobs(jobs, now).await
    }

    pub(crate) async fn dialect_put_blobs(
        &mut self,
        blobs: Vec<(String, serde_json::Value)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.sqlite_put_blobs_each(blobs, now).await
    }

    pub(crate) async fn dialect_get_blobs(
        &mut self,
        keys: &[String],
    ) -> Result<HashMap<String, serde_json::Value>, StoreError> {
        self.sqlite_get_blobs_each(keys).await
    }

    pub(crate) async fn dialect_append_outbox(
        &mut self,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut by_run: Vec<(RunId, Vec<NewOutboxEvent>)> = Vec::new();
        for event in events {
            match by_run
                .iter_mut()
                .find(|(run, _)| *run == event.workflow_run_id)
            {
                Some((_, events)) => events.push(event),
                None => by_run.push((event.workflow_run_id.clone(), vec![event])),
            }
        }
        for (run, events) in by_run {
            self.sqlite_insert_events(&run, events, now).await?;
        }
        Ok(())
    }

    pub(crate) async fn dialect_insert_stages(
        &mut self,
        stages: Vec<NewStage>,
        if_absent: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<StageRecord>, StoreError> {
        let keys: Vec<(RunId, StageId)> = stages
            .iter()
            .map(|s| (s.workflow_run_id.clone(), s.stage_id.clone()))
            .collect();
        for stage in stages {
            self.sqlite_insert_stage(stage, if_absent, now).await?;
        }
        let mut rows = Vec::with_capacity(keys.len());
        for (run, stage) in keys {
            let row =
                self.op_get_stage(&run, &stage)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        entity: "WorkflowStage",
                        id: format!("{run}/{stage}"),
                    })?;
            rows.push(row);
        }
        Ok(rows)
    }

    pub(crate) async fn dialect_claim_jobs(
        &mut self,
        claim: &JobClaim,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ClaimedJob, UnreadableJob>>, StoreError> {
        let workflows = serde_json::to_string(&claim.workflows).expect("strings serialize");
        let query = sqlx::query(sqlite_claim_jobs())
            .bind(claim.worker_id.clone())
            .bind(Ts(now))
            .bind(claim.limit as i64)
            .bind(workflows);
        let rows = on!(self, write, |e| query.fetch_all(e).await).map_err(failed("claim jobs"))?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let job = match crate::tables::job(row) {
                Ok(job) => job,
                Err(error) => {
                    claimed.push(Err(super::unreadable(None, error)?));
                    continue;
                }
            };
            match self.start_claimed(&job, now).await {
                Ok((run, stage, started)) => claimed.push(Ok(ClaimedJob {
                    job,
                    run,
                    stage,
                    started,
                })),
                Err(error) => claimed.push(Err(super::unreadable(Some(&job.id), error)?)),
            }
        }
        super::order_claimed(&mut claimed);
        Ok(claimed)
    }

    pub(crate) async fn dialect_record_stage(
        &mut self,
        write: StageWrite,
        now: DateTime<Utc>,
    ) -> Result<Option<StageWritten>, StoreError> {
        let job_status = match &write.job {
            Some((lease, end)) => match self.op_end_job(lease, end, now).await? {
                Some(status) => Some(status),
                None => return Ok(None),
            },
            None => None,
        };
        self.sqlite_put_blobs_each(write.blobs, now).await?;
        self.op_update_stage(&write.stage_record_id, write.update, None, now)
            .await?;
        self.op_update_run(&write.run_id, RunUpdate::default(), None, now)
            .await?;
        self.dialect_append_outbox(write.events, now).await?;
        let stages = self.op_stages_by_run(&write.run_id).await?;
        Ok(Some(StageWritten { job_status, stages }))
    }

    pub(crate) async fn dialect_start_group(
        &mut self,
        mut group: GroupStart,
        now: DateTime<Utc>,
    ) -> Result<Vec<(StageRecord, Option<JobId>)>, StoreError> {
        let rows = self
            .dialect_insert_stages(std::mem::take(&mut group.stages), group.if_absent, now)
            .await?;
        let mut jobs: HashMap<StageId, JobId> = HashMap::new();
        let pending = group.jobs_for(&rows);
        let stage_ids: Vec<StageId> = pending.iter().map(|j| j.stage_id.clone()).collect();
        let ids = self.op_insert_jobs(pending, now).await?;
        jobs.extend(stage_ids.into_iter().zip(ids));
        self.dialect_append_outbox(group.events, now).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let job = jobs.remove(&row.stage_id);
                (row, job)
            })
            .collect())
    }
}

/// Row operations only SQLite uses (PostgreSQL does them in one statement each, in `postgres.rs`).
impl SqlExecutor<Sqlite> {
    /// Reads a claimed job's run and stage, and marks the stage `RUNNING` when its run is `RUNNING` and
    /// it has not completed.
    async fn start_claimed(
        &mut self,
        job: &JobRecord,
        now: DateTime<Utc>,
    ) -> Result<(Option<RunRecord>, Option<StageRecord>, bool), StoreError> {
        let run = self.op_get_run(&job.workflow_run_id).await?;
        let stage = self
            .op_get_stage(&job.workflow_run_id, &job.stage_id)
            .await?;
        let startable = claim_starts_stage(run.as_ref(), stage.as_ref());
        let stage = match stage {
            Some(stage) if startable => {
                let update = StageUpdate {
                    status: Some(Status::Running),
                    started_at: Some(Some(now)),
                    ..Default::default()
                };
                Some(self.op_update_stage(&stage.id, update, None, now).await?)
            }
            other => other,
        };
        Ok((run, stage, startable))
    }

    /// Appends the events of one run after its highest sequence (its outbox sequence must be locked).
    async fn sqlite_insert_events(
        &mut self,
        run_id: &str,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = statements(Dialect::Sqlite);
        let query = sqlx::query_scalar::<_, i64>(sql.last_sequence).bind(run_id.to_owned());
        let last = on!(self, write, |e| query.fetch_one(e).await)
            .map_err(failed("read the outbox sequence"))?;
        for (sequence, event) in (last + 1..).zip(events) {
            let query = sqlx::query(sql.insert_event)
                .bind(cuid())
                .bind(Ts(now))
                .bind(run_id.to_owned())
                .bind(sequence as i32)
                .bind(event.event_type)
                .bind(Json(event.payload))
                .bind(event.causation_id)
                .bind(Ts(event.occurred_at));
            on!(self, write, |e| query.execute(e).await)
                .map_err(failed("append an outbox event"))?;
        }
        Ok(())
    }

    /// Stores blobs one statement each (PostgreSQL batches them in `put_blobs`).
    async fn sqlite_put_blobs_each(
        &mut self,
        blobs: Vec<(String, Value)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (key, value) in blobs {
            let run = blob_run(&key)?.to_owned();
            let size = i32::try_from(value.to_string().len()).unwrap_or(i32::MAX);
            let query = sqlx::query(statements(Dialect::Sqlite).put_blob)
                .bind(cuid())
                .bind(Ts(now))
                .bind(run)
                .bind(key)
                .bind(Json(value))
                .bind(size);
            on!(self, write, |e| query.execute(e).await).map_err(failed("store a blob"))?;
        }
        Ok(())
    }

    /// Reads blobs one statement each (PostgreSQL reads them in one in `get_blobs`).
    async fn sqlite_get_blobs_each(
        &mut self,
        keys: &[String],
    ) -> Result<HashMap<String, Value>, StoreError> {
        let mut values = HashMap::new();
        for key in keys {
            let run = blob_run(key)?.to_owned();
            let query = sqlx::query_as::<_, (String, Json)>(statements(Dialect::Sqlite).get_blob)
                .bind(run)
                .bind(key.clone());
            if let Some((key, data)) =
                on!(self, read, |e| query.fetch_optional(e).await).map_err(failed("read a blob"))?
            {
                values.insert(key, data.0);
            }
        }
        Ok(values)
    }

    async fn sqlite_insert_stage(
        &mut self,
        stage: NewStage,
        if_absent: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql: &'static str = if if_absent {
            static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            SQL.get_or_init(|| {
                format!(
                    "{} ON CONFLICT (\"workflowRunId\", \"stageId\") DO NOTHING",
                    statements(Dialect::Sqlite).insert_stage
                )
            })
        } else {
            statements(Dialect::Sqlite).insert_stage
        };
        let query = sqlx::query(sql)
            .bind(cuid())
            .bind(Ts(now))
            .bind(stage.workflow_run_id)
            .bind(stage.stage_id)
            .bind(stage.stage_name)
            .bind(stage.stage_number)
            .bind(stage.execution_group)
            .bind(stage.attempt)
            .bind(StatusText(stage.status))
            .bind(stage.started_at.map(Ts))
            .bind(stage.config.map(Json));
        on!(self, write, |e| query.execute(e).await)
            .map(drop)
            .map_err(failed("create a stage row"))
    }
}
