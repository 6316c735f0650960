//! The PostgreSQL group start and stage record: each one data-modifying statement.

use super::{D, select_as};
use crate::codec::{Json, StatusText, Ts};
use crate::exec::jobs::stored_payload;
use crate::exec::{SqlExecutor, blob_run, failed};
use crate::tables::STAGES;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};
use std::collections::BTreeMap;
use workflow_core::ids::{JobId, StageId, WorkflowId, cuid};
use workflow_core::ports::*;

/// Pushes the `"events"` CTE: the events of `run_id`, numbered after its highest sequence.
fn push_events(
    qb: &mut QueryBuilder<Postgres>,
    run_id: &str,
    events: &[NewOutboxEvent],
    now: DateTime<Utc>,
    guard: &str,
) {
    let ids: Vec<String> = events.iter().map(|_| cuid()).collect();
    let ords: Vec<i32> = (1..=events.len() as i32).collect();
    let types: Vec<String> = events.iter().map(|e| e.event_type.clone()).collect();
    let payloads: Vec<Json> = events.iter().map(|e| Json(e.payload.clone())).collect();
    let causes: Vec<String> = events.iter().map(|e| e.causation_id.clone()).collect();
    let ats: Vec<Ts> = events.iter().map(|e| Ts(e.occurred_at)).collect();
    qb.push("\"events\" AS (INSERT INTO \"outbox_events\" (\"id\", \"createdAt\", \"workflowRunId\", \"sequence\", \"eventType\", \"payload\", \
             \"causationId\", \"occurredAt\", \"retryCount\") SELECT e.\"id\", ")
        .push_bind(Ts(now))
        .push(", ")
        .push_bind(run_id.to_owned())
        .push(", (SELECT COALESCE(MAX(o.\"sequence\"), 0) FROM \"outbox_events\" o WHERE o.\"workflowRunId\" = ")
        .push_bind(run_id.to_owned())
        .push(") + e.\"ord\", e.\"type\", e.\"payload\", e.\"cause\", e.\"at\", 0 FROM UNNEST(")
        .push_bind(ids)
        .push("::text[], ")
        .push_bind(ords)
        .push("::int[], ")
        .push_bind(types)
        .push("::text[], ")
        .push_bind(payloads)
        .push("::jsonb[], ")
        .push_bind(causes)
        .push("::text[], ")
        .push_bind(ats)
        .push("::timestamp[]) AS e(\"id\", \"ord\", \"type\", \"payload\", \"cause\", \"at\") WHERE TRUE")
        .push(guard)
        .push(" RETURNING 1)");
}

/// Pushes `, "column" = <bind>` when the update sets the column.
macro_rules! set {
    ($qb:expr, $column:literal, $value:expr) => {
        if let Some(value) = $value {
            $qb.push(concat!(", \"", $column, "\" = ")).push_bind(value);
        }
    };
}

impl SqlExecutor<Postgres> {
    pub(crate) async fn dialect_insert_stages(
        &mut self,
        stages: Vec<NewStage>,
        if_absent: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<StageRecord>, StoreError> {
        let group = GroupStart {
            stages,
            if_absent,
            workflow_id: WorkflowId::default(),
            priority: 0,
            payload: Value::Null,
            events: Vec::new(),
        };
        Ok(self
            .start_group_with(group, false, now)
            .await?
            .into_iter()
            .map(|(stage, _)| stage)
            .collect())
    }

    /// Inserts a group's stage rows, enqueues a job for each `PENDING` one (when `with_jobs`), appends the
    /// group's events and notifies workers, in one statement.
    pub(crate) async fn dialect_start_group(
        &mut self,
        group: GroupStart,
        now: DateTime<Utc>,
    ) -> Result<Vec<(StageRecord, Option<JobId>)>, StoreError> {
        self.start_group_with(group, true, now).await
    }

    async fn start_group_with(
        &mut self,
        group: GroupStart,
        with_jobs: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<(StageRecord, Option<JobId>)>, StoreError> {
        let Some(first) = group.stages.first() else {
            return Ok(Vec::new());
        };
        let run_id = first.workflow_run_id.clone();
        if !group.events.is_empty() {
            self.lock_outboxes([run_id.clone()]).await?;
        }
        let stage_ids: Vec<StageId> = group.stages.iter().map(|s| s.stage_id.clone()).collect();
        let stage_id_texts: Vec<&str> = stage_ids.iter().map(|id| id.as_str()).collect();
        let mut qb = QueryBuilder::<Postgres>::new(
            "WITH \"inserted\" AS (INSERT INTO \"workflow_stages\" (\"id\", \"createdAt\", \"updatedAt\", \"version\", \"workflowRunId\", \
             \"stageId\", \"stageName\", \"stageNumber\", \"executionGroup\", \"attempt\", \"status\", \"startedAt\", \"config\") \
             SELECT n.\"id\", ",
        );
        qb.push_bind(Ts(now))
            .push(", ")
            .push_bind(Ts(now))
            .push(", 1, ")
            .push_bind(run_id.clone())
            .push(", n.\"stageId\", n.\"name\", n.\"number\", n.\"group\", n.\"attempt\", CAST(n.\"status\" AS \"Status\"), n.\"startedAt\", n.\"config\" FROM UNNEST(")
            .push_bind(group.stages.iter().map(|_| cuid()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(stage_id_texts.clone())
            .push("::text[], ")
            .push_bind(group.stages.iter().map(|s| s.stage_name.clone()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(group.stages.iter().map(|s| s.stage_number).collect::<Vec<_>>())
            .push("::int[], ")
            .push_bind(group.stages.iter().map(|s| s.execution_group).collect::<Vec<_>>())
            .push("::int[], ")
            .push_bind(group.stages.iter().map(|s| s.attempt).collect::<Vec<_>>())
            .push("::int[], ")
            .push_bind(group.stages.iter().map(|s| s.status.as_str().to_owned()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(group.stages.iter().map(|s| s.started_at.map(Ts)).collect::<Vec<_>>())
            .push("::timestamp[], ")
            .push_bind(group.stages.iter().map(|s| s.config.clone().map(Json)).collect::<Vec<_>>())
            .push("::jsonb[]) AS n(\"id\", \"stageId\", \"name\", \"number\", \"group\", \"attempt\", \"status\", \"startedAt\", \"config\")");
        if group.if_absent {
            qb.push(" ON CONFLICT (\"workflowRunId\", \"stageId\") DO NOTHING");
        }
        qb.push(" RETURNING *), \"rows\" AS (SELECT * FROM \"inserted\" UNION ALL SELECT * FROM \"workflow_stages\" WHERE \"workflowRunId\" = ")
            .push_bind(run_id.clone())
            .push(" AND \"stageId\" = ANY(")
            .push_bind(stage_id_texts.clone())
            .push(")), ");
        if with_jobs {
            let payload = stored_payload(&NewJob {
                workflow_run_id: run_id.clone(),
                workflow_id: group.workflow_id.clone(),
                stage_id: StageId::default(),
                priority: group.priority,
                payload: group.payload.clone(),
            });
            qb.push("\"jobs\" AS (INSERT INTO \"job_queue\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"stageId\", \"status\", \
                     \"priority\", \"attempt\", \"payload\") SELECT j.\"id\", ")
                .push_bind(Ts(now))
                .push(", ")
                .push_bind(Ts(now))
                .push(", ")
                .push_bind(run_id.clone())
                .push(", j.\"stageId\", 'PENDING', ")
                .push_bind(group.priority)
                .push(", 0, ")
                .push_bind(Json(payload))
                .push(" FROM UNNEST(")
                .push_bind(group.stages.iter().map(|_| cuid()).collect::<Vec<_>>())
                .push("::text[], ")
                .push_bind(stage_id_texts.clone())
                .push("::text[]) AS j(\"id\", \"stageId\") WHERE j.\"stageId\" IN (SELECT \"stageId\" FROM \"rows\" WHERE \"status\" = 'PENDING') \
                       RETURNING \"id\", \"stageId\"), ");
        } else {
            qb.push("\"jobs\" AS (SELECT NULL::text AS \"id\", NULL::text AS \"stageId\" WHERE FALSE), ");
        }
        if group.events.is_empty() {
            qb.push("\"events\" AS (SELECT 1 WHERE FALSE)");
        } else {
            push_events(&mut qb, &run_id, &group.events, now, "");
        }
        qb.push(" SELECT ")
            .push(select_as(&STAGES, "r", ""))
            .push(", j.\"id\" AS \"_jobId\" FROM \"rows\" r LEFT JOIN \"jobs\" j ON j.\"stageId\" = r.\"stageId\" \
                   CROSS JOIN (SELECT count(*) FROM \"events\") ev");
        let rows =
            on!(self, write, |e| qb.build().fetch_all(e).await).map_err(failed("start a group"))?;
        let mut by_stage: BTreeMap<StageId, (StageRecord, Option<JobId>)> = BTreeMap::new();
        for row in &rows {
            let stage = crate::tables::stage(row)?;
            let job: Option<JobId> =
                sqlx::Row::try_get(row, "_jobId").map_err(failed("read a job id"))?;
            by_stage.insert(stage.stage_id.clone(), (stage, job));
        }
        Ok(stage_ids
            .iter()
            .filter_map(|id| by_stage.remove(id))
            .collect())
    }

    pub(crate) async fn dialect_record_stage(
        &mut self,
        write: StageWrite,
        now: DateTime<Utc>,
    ) -> Result<Option<StageWritten>, StoreError> {
        if !write.events.is_empty() {
            self.lock_outboxes([write.run_id.clone()]).await?;
        }
        let mut qb = QueryBuilder::<Postgres>::new("WITH ");
        let guard = if let Some((lease, end)) = &write.job {
            qb.push("\"job\" AS (UPDATE \"job_queue\" SET ");
            match end {
                JobEnd::Complete => {
                    qb.push("\"status\" = 'COMPLETED', \"completedAt\" = ")
                        .push_bind(Ts(now));
                }
                JobEnd::Suspend { next_poll_at } => {
                    qb.push("\"status\" = 'SUSPENDED', \"workerId\" = NULL, \"lockedAt\" = NULL, \"nextPollAt\" = ")
                        .push_bind(Ts(*next_poll_at));
                }
                JobEnd::Fail { error, retry_at } => {
                    let retry = if retry_at.is_some() {
                        "\"attempt\" < \"maxAttempts\""
                    } else {
                        "FALSE"
                    };
                    qb.push(format!(
                        "\"status\" = CASE WHEN {retry} THEN 'PENDING'::\"Status\" ELSE 'FAILED'::\"Status\" END, \
                         \"workerId\" = CASE WHEN {retry} THEN NULL ELSE \"workerId\" END, \
                         \"lockedAt\" = CASE WHEN {retry} THEN NULL ELSE \"lockedAt\" END, \"nextPollAt\" = CASE WHEN {retry} THEN "
                    ))
                    .push_bind(retry_at.map(Ts))
                    .push(format!(" ELSE \"nextPollAt\" END, \"completedAt\" = CASE WHEN {retry} THEN \"completedAt\" ELSE "))
                    .push_bind(Ts(now))
                    .push(" END, \"lastError\" = ")
                    .push_bind(error.clone());
                }
            }
            qb.push(", \"updatedAt\" = ")
                .push_bind(Ts(now))
                .push(" WHERE \"id\" = ")
                .push_bind(lease.job_id.clone())
                .push(" AND \"status\" = 'RUNNING' AND \"attempt\" = ")
                .push_bind(lease.attempt)
                .push(" RETURNING \"status\"::text AS \"status\"), ");
            " AND EXISTS (SELECT 1 FROM \"job\")"
        } else {
            qb.push("\"job\" AS (SELECT NULL::text AS \"status\" WHERE FALSE), ");
            ""
        };
        if !write.blobs.is_empty() {
            let mut runs = Vec::with_capacity(write.blobs.len());
            for (key, _) in &write.blobs {
                runs.push(blob_run(key)?.to_owned());
            }
            qb.push("\"blobs\" AS (INSERT INTO \"workflow_artifacts\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"key\", \"type\", \
                     \"data\", \"size\") SELECT b.\"id\", ")
                .push_bind(Ts(now))
                .push(", ")
                .push_bind(Ts(now))
                .push(", b.\"run\", b.\"key\", 'json', b.\"data\", b.\"size\" FROM UNNEST(")
                .push_bind(write.blobs.iter().map(|_| cuid()).collect::<Vec<_>>())
                .push("::text[], ")
                .push_bind(runs)
                .push("::text[], ")
                .push_bind(write.blobs.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
                .push("::text[], ")
                .push_bind(write.blobs.iter().map(|(_, v)| Json(v.clone())).collect::<Vec<_>>())
                .push("::jsonb[], ")
                .push_bind(
                    write
                        .blobs
                        .iter()
                        .map(|(_, v)| i32::try_from(v.to_string().len()).unwrap_or(i32::MAX))
                        .collect::<Vec<_>>(),
                )
                .push("::int[]) AS b(\"id\", \"run\", \"key\", \"data\", \"size\") WHERE TRUE")
                .push(guard)
                .push(" ON CONFLICT (\"workflowRunId\", \"key\") DO UPDATE SET \"data\" = excluded.\"data\", \"size\" = excluded.\"size\", \
                       \"updatedAt\" = excluded.\"updatedAt\" RETURNING 1), ");
        }
        let update = &write.update;
        qb.push("\"stage\" AS (UPDATE \"workflow_stages\" SET \"updatedAt\" = ")
            .push_bind(Ts(now))
            .push(", \"version\" = \"version\" + 1");
        if let Some(status) = update.status {
            qb.push(", \"status\" = CAST(")
                .push_bind(StatusText(status))
                .push("::text AS \"Status\")");
        }
        set!(qb, "startedAt", update.started_at.map(|v| v.map(Ts)));
        set!(qb, "completedAt", update.completed_at.map(|v| v.map(Ts)));
        set!(qb, "duration", update.duration);
        set!(
            qb,
            "outputData",
            update.output_data.clone().map(|v| v.map(Json))
        );
        set!(
            qb,
            "suspendedState",
            update.suspended_state.clone().map(|v| v.map(Json))
        );
        set!(qb, "nextPollAt", update.next_poll_at.map(|v| v.map(Ts)));
        set!(qb, "pollInterval", update.poll_interval);
        set!(qb, "maxWaitUntil", update.max_wait_until.map(|v| v.map(Ts)));
        set!(qb, "metrics", update.metrics.clone().map(|v| v.map(Json)));
        set!(
            qb,
            "embeddingInfo",
            update.embedding_info.clone().map(|v| v.map(Json))
        );
        set!(qb, "errorMessage", update.error_message.clone());
        qb.push(" WHERE \"id\" = ")
            .push_bind(write.stage_record_id.clone())
            .push(guard)
            .push(" RETURNING *), \"run\" AS (UPDATE \"workflow_runs\" SET \"updatedAt\" = ")
            .push_bind(Ts(now))
            .push(", \"version\" = \"version\" + 1 WHERE \"id\" = ")
            .push_bind(write.run_id.clone())
            .push(guard)
            .push(" RETURNING 1), ");
        if write.events.is_empty() {
            qb.push("\"events\" AS (SELECT 1 WHERE FALSE)");
        } else {
            push_events(&mut qb, &write.run_id, &write.events, now, guard);
        }
        let columns = STAGES.select(D);
        qb.push(format!(
            " SELECT {columns}, (SELECT \"status\" FROM \"job\") AS \"_jobStatus\", (SELECT count(*) FROM \"run\") AS \"_bumped\", \
             (SELECT count(*) FROM \"events\") AS \"_events\" FROM (SELECT * FROM \"stage\" UNION ALL SELECT * FROM \"workflow_stages\" \
             WHERE \"workflowRunId\" = "
        ))
        .push_bind(write.run_id.clone())
        .push(" AND \"id\" <> ")
        .push_bind(write.stage_record_id.clone())
        .push(") s ORDER BY \"executionGroup\" ASC, \"stageNumber\" ASC");
        let rows = on!(self, write, |e| qb.build().fetch_all(e).await)
            .map_err(failed("record a stage outcome"))?;
        let job_status: Option<StatusText> = match rows.first() {
            Some(row) => {
                sqlx::Row::try_get(row, "_jobStatus").map_err(failed("read a job status"))?
            }
            None => None,
        };
        if write.job.is_some() && job_status.is_none() {
            return Ok(None);
        }
        let stages = rows
            .iter()
            .map(crate::tables::stage)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StageWritten {
            job_status: job_status.map(|s| s.0),
            stages,
        }))
    }
}
