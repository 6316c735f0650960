//! PostgreSQL's composite operations: each is one statement (data-modifying CTEs over `UNNEST`ed arrays),
//! so that a stage execution costs a handful of round trips.

use super::jobs::stored_payload;
use super::{SqlExecutor, blob_run, failed};
use crate::codec::{Json, StatusText, Ts};
use crate::sql::Dialect;
use crate::tables::{Columns, JOBS, RUNS, STAGES, Table};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder};
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use workflow_core::ids::cuid;
use workflow_core::ports::*;

const D: Dialect = Dialect::Postgres;

/// The columns of `table` of alias `alias`, named `<prefix><column>`.
fn select_as(table: &Table, alias: &str, prefix: &str) -> String {
    table
        .columns
        .iter()
        .map(|column| match *column {
            "status" => format!("{alias}.\"status\"::text AS \"{prefix}status\""),
            column => format!("{alias}.\"{column}\" AS \"{prefix}{column}\""),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A row's columns under a prefix.
struct Prefixed<'a>(&'a PgRow, &'static str);

impl Columns for Prefixed<'_> {
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.0.opt_text(&format!("{}{column}", self.1))
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.0.opt_int(&format!("{}{column}", self.1))
    }
    fn opt_float(&self, column: &str) -> Result<Option<f64>, sqlx::Error> {
        self.0.opt_float(&format!("{}{column}", self.1))
    }
    fn opt_ts(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        self.0.opt_ts(&format!("{}{column}", self.1))
    }
    fn opt_json(&self, column: &str) -> Result<Option<Value>, sqlx::Error> {
        self.0.opt_json(&format!("{}{column}", self.1))
    }
    fn opt_status(&self, column: &str) -> Result<Option<Status>, sqlx::Error> {
        self.0.opt_status(&format!("{}{column}", self.1))
    }
}

/// The run and stage rows of a claimed job (`run.`, `stage.` when the claim started the stage, else
/// `old.`), and whether the stage was started.
fn claimed_rows(row: &PgRow) -> Result<(Option<RunRecord>, Option<StageRecord>, bool), StoreError> {
    let present = |prefix: &'static str| {
        Prefixed(row, prefix)
            .opt_text("id")
            .ok()
            .flatten()
            .is_some()
    };
    let run = present("run.")
        .then(|| crate::tables::run(&Prefixed(row, "run.")))
        .transpose()?;
    let started = present("stage.");
    let stage = if started {
        Some(crate::tables::stage(&Prefixed(row, "stage."))?)
    } else if present("old.") {
        Some(crate::tables::stage(&Prefixed(row, "old."))?)
    } else {
        None
    };
    Ok((run, stage, started))
}

/// The job claim: candidates by priority then age (`SKIP LOCKED`), each taken only when its run's outbox
/// lock (`hashtext(runId)`, the TypeScript engine's) is free or already this transaction's: the claim
/// appends the `stage:started` events, and it may run in the transaction that recorded another run's stage
/// (the hand-off), so it never waits for a second run's lock while holding one (no deadlock). A job
/// passed over stays `PENDING` for the next claim.
pub(crate) fn claim_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "WITH \"picked\" AS ({}), \
             \"claimed\" AS (UPDATE \"job_queue\" j SET \"status\" = 'RUNNING', \"workerId\" = $1, \"lockedAt\" = $2, \"startedAt\" = $2, \
               \"updatedAt\" = $2, \"attempt\" = j.\"attempt\" + 1 FROM \"picked\" p WHERE j.\"id\" = p.\"id\" \
               AND pg_try_advisory_xact_lock(hashtext(j.\"workflowRunId\")) RETURNING j.*), \
             \"started\" AS (UPDATE \"workflow_stages\" s SET \"status\" = 'RUNNING', \"startedAt\" = $2, \"updatedAt\" = $2, \
               \"version\" = s.\"version\" + 1 FROM \"claimed\" c, \"workflow_runs\" r \
               WHERE s.\"workflowRunId\" = c.\"workflowRunId\" AND s.\"stageId\" = c.\"stageId\" AND s.\"status\" <> 'COMPLETED' \
               AND r.\"id\" = c.\"workflowRunId\" AND r.\"status\" = 'RUNNING' RETURNING s.*) \
             SELECT {}, {}, {}, {} FROM \"claimed\" c \
             LEFT JOIN \"workflow_runs\" r ON r.\"id\" = c.\"workflowRunId\" \
             LEFT JOIN \"started\" st ON st.\"workflowRunId\" = c.\"workflowRunId\" AND st.\"stageId\" = c.\"stageId\" \
             LEFT JOIN \"workflow_stages\" s0 ON s0.\"workflowRunId\" = c.\"workflowRunId\" AND s0.\"stageId\" = c.\"stageId\"",
            crate::sql::statements::claim_candidates(D, "\"payload\"->>'_workflowId'", "= ANY($4)"),
            select_as(&JOBS, "c", "job."),
            select_as(&RUNS, "r", "run."),
            select_as(&STAGES, "st", "stage."),
            select_as(&STAGES, "s0", "old."),
        )
    })
}

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
    /// Takes the outbox locks of the runs this transaction has not locked yet (in id order).
    async fn lock_outboxes(
        &mut self,
        runs: impl IntoIterator<Item = String>,
    ) -> Result<(), StoreError> {
        let mut missing: Vec<String> = runs
            .into_iter()
            .filter(|run| !self.locked_runs.contains(run))
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let query =
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext(r)) FROM unnest($1::text[]) AS r")
                .bind(missing.clone());
        on!(self, write, |e| query.execute(e).await).map_err(failed("lock outboxes"))?;
        if matches!(self.holder, super::Holder::Tx(_)) {
            self.locked_runs.extend(missing);
        }
        Ok(())
    }

    pub(crate) async fn dialect_append_outbox(
        &mut self,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        self.lock_outboxes(events.iter().map(|e| e.workflow_run_id.clone()))
            .await?;
        let mut ordinals: HashMap<String, i32> = HashMap::new();
        let ords: Vec<i32> = events
            .iter()
            .map(|e| {
                let n = ordinals.entry(e.workflow_run_id.clone()).or_default();
                *n += 1;
                *n
            })
            .collect();
        let query = sqlx::query(
            "INSERT INTO \"outbox_events\" (\"id\", \"createdAt\", \"workflowRunId\", \"sequence\", \"eventType\", \"payload\", \
             \"causationId\", \"occurredAt\", \"retryCount\") SELECT e.\"id\", $1, e.\"run\", \
             (SELECT COALESCE(MAX(o.\"sequence\"), 0) FROM \"outbox_events\" o WHERE o.\"workflowRunId\" = e.\"run\") + e.\"ord\", \
             e.\"type\", e.\"payload\", e.\"cause\", e.\"at\", 0 \
             FROM UNNEST($2::text[], $3::text[], $4::int[], $5::text[], $6::jsonb[], $7::text[], $8::timestamp[]) \
             AS e(\"id\", \"run\", \"ord\", \"type\", \"payload\", \"cause\", \"at\")",
        )
        .bind(Ts(now))
        .bind(events.iter().map(|_| cuid()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.workflow_run_id.clone()).collect::<Vec<_>>())
        .bind(ords)
        .bind(events.iter().map(|e| e.event_type.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| Json(e.payload.clone())).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.causation_id.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| Ts(e.occurred_at)).collect::<Vec<_>>());
        on!(self, write, |e| query.execute(e).await)
            .map(drop)
            .map_err(failed("append outbox events"))
    }

    pub(crate) async fn dialect_enqueue_jobs(
        &mut self,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        self.op_insert_jobs(jobs, now).await
    }

    pub(crate) async fn dialect_put_blobs(
        &mut self,
        blobs: Vec<(String, Value)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if blobs.is_empty() {
            return Ok(());
        }
        let mut runs = Vec::with_capacity(blobs.len());
        for (key, _) in &blobs {
            runs.push(blob_run(key)?.to_owned());
        }
        let query = sqlx::query(
            "INSERT INTO \"workflow_artifacts\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"key\", \"type\", \"data\", \"size\") \
             SELECT b.\"id\", $1, $1, b.\"run\", b.\"key\", 'json', b.\"data\", b.\"size\" \
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::int[]) AS b(\"id\", \"run\", \"key\", \"data\", \"size\") \
             ON CONFLICT (\"workflowRunId\", \"key\") DO UPDATE SET \"data\" = excluded.\"data\", \"size\" = excluded.\"size\", \
             \"updatedAt\" = excluded.\"updatedAt\"",
        )
        .bind(Ts(now))
        .bind(blobs.iter().map(|_| cuid()).collect::<Vec<_>>())
        .bind(runs)
        .bind(blobs.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
        .bind(blobs.iter().map(|(_, v)| Json(v.clone())).collect::<Vec<_>>())
        .bind(blobs.iter().map(|(_, v)| i32::try_from(v.to_string().len()).unwrap_or(i32::MAX)).collect::<Vec<_>>());
        on!(self, write, |e| query.execute(e).await)
            .map(drop)
            .map_err(failed("store blobs"))
    }

    pub(crate) async fn dialect_get_blobs(
        &mut self,
        keys: &[String],
    ) -> Result<HashMap<String, Value>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut runs = Vec::with_capacity(keys.len());
        for key in keys {
            runs.push(blob_run(key)?.to_owned());
        }
        let query = sqlx::query_as::<_, (String, Json)>(
            "SELECT \"key\", \"data\" FROM \"workflow_artifacts\" WHERE (\"workflowRunId\", \"key\") IN \
             (SELECT * FROM UNNEST($1::text[], $2::text[]))",
        )
        .bind(runs)
        .bind(keys.to_vec());
        on!(self, read, |e| query.fetch_all(e).await)
            .map(|rows| rows.into_iter().map(|(k, v)| (k, v.0)).collect())
            .map_err(failed("read blobs"))
    }

    pub(crate) async fn dialect_claim_jobs(
        &mut self,
        claim: &JobClaim,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ClaimedJob, UnreadableJob>>, StoreError> {
        let query = sqlx::query(claim_sql())
            .bind(claim.worker_id.clone())
            .bind(Ts(now))
            .bind(claim.limit as i64)
            .bind(claim.workflows.clone());
        let rows = on!(self, write, |e| query.fetch_all(e).await).map_err(failed("claim jobs"))?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let job = match crate::tables::job(&Prefixed(row, "job.")) {
                Ok(job) => job,
                Err(error) => {
                    claimed.push(Err(super::unreadable(None, error)?));
                    continue;
                }
            };
            self.locked_runs.insert(job.workflow_run_id.clone());
            match claimed_rows(row) {
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

    pub(crate) async fn dialect_insert_stages(
        &mut self,
        stages: Vec<NewStage>,
        if_absent: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<StageRecord>, StoreError> {
        let group = GroupStart {
            stages,
            if_absent,
            workflow_id: String::new(),
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
    ) -> Result<Vec<(StageRecord, Option<String>)>, StoreError> {
        self.start_group_with(group, true, now).await
    }

    async fn start_group_with(
        &mut self,
        group: GroupStart,
        with_jobs: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<(StageRecord, Option<String>)>, StoreError> {
        let Some(first) = group.stages.first() else {
            return Ok(Vec::new());
        };
        let run_id = first.workflow_run_id.clone();
        if !group.events.is_empty() {
            self.lock_outboxes([run_id.clone()]).await?;
        }
        let stage_ids: Vec<String> = group.stages.iter().map(|s| s.stage_id.clone()).collect();
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
            .push_bind(stage_ids.clone())
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
            .push_bind(stage_ids.clone())
            .push(")), ");
        if with_jobs {
            let payload = stored_payload(&NewJob {
                workflow_run_id: run_id.clone(),
                workflow_id: group.workflow_id.clone(),
                stage_id: String::new(),
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
                .push_bind(stage_ids.clone())
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
        let mut by_stage: BTreeMap<String, (StageRecord, Option<String>)> = BTreeMap::new();
        for row in &rows {
            let stage = crate::tables::stage(row)?;
            let job: Option<String> =
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
