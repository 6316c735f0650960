//! PostgreSQL's composite operations: each is one statement (data-modifying CTEs over `UNNEST`ed arrays),
//! so that a stage execution costs a handful of round trips. The job claim is in `claim.rs`, the group
//! start and the stage record in `composite.rs`; outbox, jobs and blobs here.

mod claim;
mod composite;

#[cfg(feature = "testing")]
pub(crate) use claim::claim_sql;

use super::{SqlExecutor, blob_run, failed};
use crate::codec::{Json, Ts};
use crate::sql::Dialect;
use crate::tables::{Columns, Table};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Postgres;
use sqlx::postgres::PgRow;
use std::collections::HashMap;
use workflow_core::ids::{JobId, RunId, cuid};
use workflow_core::ports::*;

const D: Dialect = Dialect::Postgres;

/// The columns of `table` of alias `alias`, named `<prefix><column>`.
pub(super) fn select_as(table: &Table, alias: &str, prefix: &str) -> String {
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
pub(super) struct Prefixed<'a>(pub(super) &'a PgRow, pub(super) &'static str);

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

impl SqlExecutor<Postgres> {
    /// Takes the outbox locks of the runs this transaction has not locked yet (in id order).
    pub(super) async fn lock_outboxes(
        &mut self,
        runs: impl IntoIterator<Item = RunId>,
    ) -> Result<(), StoreError> {
        let mut missing: Vec<RunId> = runs
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
                .bind(missing.iter().map(RunId::as_str).collect::<Vec<_>>());
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
        let mut ordinals: HashMap<&RunId, i32> = HashMap::new();
        let ords: Vec<i32> = events
            .iter()
            .map(|e| {
                let n = ordinals.entry(&e.workflow_run_id).or_default();
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
        .bind(events.iter().map(|e| e.workflow_run_id.as_str()).collect::<Vec<_>>())
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
    ) -> Result<Vec<JobId>, StoreError> {
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
}
