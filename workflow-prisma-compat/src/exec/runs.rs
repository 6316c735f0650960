//! Run and stage operations (both databases).

use super::{SqlExecutor, failed};
use crate::codec::{Json, Ts};
use crate::sql::{Dialect, statements};
use crate::tables::{Decoded, RUNS, STAGES, Table};
use chrono::{DateTime, Utc};
use serde_json::Value;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
use sqlx::QueryBuilder;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use workflow_core::ids::{RunId, cuid};
use workflow_core::ports::*;

/// Pushes `, "column" = <bind>` when the update sets the column.
macro_rules! push_set {
    ($qb:expr, $column:literal, $value:expr) => {
        if let Some(value) = $value {
            $qb.push(concat!(", \"", $column, "\" = ")).push_bind(value);
        }
    };
}

/// `UPDATE "<table>" SET "updatedAt" = <now>, "version" = "version" + 1`, for the caller to add the
/// columns it sets.
fn update_head<DB: sqlx::Database>(table: &'static str, now: DateTime<Utc>) -> QueryBuilder<DB>
where
    Ts: for<'q> sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::<DB>::new(format!("UPDATE \"{table}\" SET \"updatedAt\" = "));
    qb.push_bind(Ts(now))
        .push(", \"version\" = \"version\" + 1");
    qb
}

macro_rules! runs_ops {
    ($db:ty, $dialect:expr) => {
        impl SqlExecutor<$db> {
            /// Ends an `UPDATE <table> SET …` with its guard (`id`, and `version` when `expected`) and
            /// `RETURNING`, runs it, and returns the row, or the error of a guarded update that changed
            /// no row.
            async fn guarded_update<T>(
                &mut self,
                mut qb: QueryBuilder<$db>,
                table: &'static Table,
                entity: &'static str,
                id: &str,
                expected: Option<i32>,
            ) -> Result<T, StoreError>
            where
                Decoded<T>: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
            {
                qb.push(" WHERE \"id\" = ").push_bind(id);
                if let Some(version) = expected {
                    qb.push(" AND \"version\" = ").push_bind(version);
                }
                qb.push(" ").push(table.returning($dialect));
                let row = on!(self, write, |e| qb
                    .build_query_as::<Decoded<T>>()
                    .fetch_optional(e)
                    .await)
                .map_err(|e| super::store_error(&format!("update a row of {}", table.name), e))?;
                match row {
                    Some(row) => Ok(row.0),
                    None => Err(self
                        .missing_or_stale(table.name, entity, id, expected)
                        .await),
                }
            }

            /// The error of a guarded update that changed no row.
            async fn missing_or_stale(
                &mut self,
                table: &'static str,
                entity: &'static str,
                id: &str,
                expected: Option<i32>,
            ) -> StoreError {
                let Some(expected) = expected else {
                    return StoreError::NotFound {
                        entity,
                        id: id.to_owned(),
                    };
                };
                let sql = match table {
                    "workflow_runs" => {
                        "SELECT \"version\" FROM \"workflow_runs\" WHERE \"id\" = $1"
                    }
                    _ => "SELECT \"version\" FROM \"workflow_stages\" WHERE \"id\" = $1",
                };
                let actual: Option<i32> = on!(self, read, |e| sqlx::query_scalar(sql)
                    .bind(id)
                    .fetch_optional(e)
                    .await)
                .ok()
                .flatten();
                StoreError::StaleVersion {
                    entity,
                    id: id.to_owned(),
                    expected: i64::from(expected),
                    actual: actual.map_or(-1, i64::from),
                }
            }

            pub(crate) async fn op_create_run(
                &mut self,
                run: NewRun,
                now: DateTime<Utc>,
            ) -> Result<RunRecord, StoreError> {
                let query =
                    sqlx::query_as::<_, Decoded<RunRecord>>(statements($dialect).create_run)
                        .bind(cuid())
                        .bind(Ts(now))
                        .bind(run.workflow_id)
                        .bind(run.workflow_name)
                        .bind(run.workflow_type)
                        .bind(Json(run.input))
                        .bind(Json(run.config))
                        .bind(run.priority)
                        .bind(run.metadata.map(Json));
                on!(self, write, |e| query.fetch_one(e).await)
                    .map(|d| d.0)
                    .map_err(failed("create a run"))
            }

            pub(crate) async fn op_get_run(
                &mut self,
                id: &str,
            ) -> Result<Option<RunRecord>, StoreError> {
                let query =
                    sqlx::query_as::<_, Decoded<RunRecord>>(statements($dialect).get_run).bind(id);
                on!(self, read, |e| query.fetch_optional(e).await)
                    .map(|row| row.map(|d| d.0))
                    .map_err(failed("read a run"))
            }

            pub(crate) async fn op_lock_run(
                &mut self,
                id: &str,
            ) -> Result<Option<RunRecord>, StoreError> {
                let query =
                    sqlx::query_as::<_, Decoded<RunRecord>>(statements($dialect).lock_run).bind(id);
                let run = on!(self, write, |e| query.fetch_optional(e).await)
                    .map(|row| row.map(|d| d.0))
                    .map_err(failed("lock a run"))?;
                if run.is_some() {
                    self.locked_runs.insert(id.into());
                }
                Ok(run)
            }

            pub(crate) async fn op_update_run(
                &mut self,
                id: &str,
                update: RunUpdate,
                expected: Option<i32>,
                now: DateTime<Utc>,
            ) -> Result<RunRecord, StoreError> {
                let mut qb = update_head::<$db>("workflow_runs", now);
                if let Some(status) = update.status {
                    qb.push(", \"status\" = ");
                    push_status!(qb, $dialect, status);
                }
                push_set!(qb, "startedAt", update.started_at.map(|v| v.map(Ts)));
                push_set!(qb, "completedAt", update.completed_at.map(|v| v.map(Ts)));
                push_set!(qb, "duration", update.duration);
                push_set!(qb, "output", update.output.map(|v| v.map(Json)));
                push_set!(qb, "totalCost", update.total_cost);
                push_set!(qb, "totalTokens", update.total_tokens);
                self.guarded_update(qb, &RUNS, "WorkflowRun", id, expected)
                    .await
            }

            pub(crate) async fn op_claim_pending_runs(
                &mut self,
                limit: usize,
                now: DateTime<Utc>,
            ) -> Result<Vec<Result<RunRecord, StoreError>>, StoreError> {
                let query = sqlx::query(statements($dialect).claim_pending_runs)
                    .bind(Ts(now))
                    .bind(limit as i64);
                let rows = on!(self, write, |e| query.fetch_all(e).await)
                    .map_err(failed("claim pending runs"))?;
                let mut runs: Vec<Result<RunRecord, StoreError>> =
                    rows.iter().map(crate::tables::run).collect();
                runs.sort_by(|a, b| match (a, b) {
                    (Ok(a), Ok(b)) => b
                        .priority
                        .cmp(&a.priority)
                        .then(a.created_at.cmp(&b.created_at))
                        .then_with(|| a.id.cmp(&b.id)),
                    (Ok(_), Err(_)) => std::cmp::Ordering::Less,
                    (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
                    (Err(_), Err(_)) => std::cmp::Ordering::Equal,
                });
                Ok(runs)
            }

            pub(crate) async fn op_quarantine_run(
                &mut self,
                id: &str,
                output: Value,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let query = sqlx::query(statements($dialect).quarantine_run)
                    .bind(id)
                    .bind(Ts(now))
                    .bind(Json(output));
                on!(self, write, |e| query.execute(e).await)
                    .map(drop)
                    .map_err(failed("quarantine a run"))
            }

            pub(crate) async fn op_stuck_runs(
                &mut self,
                since: DateTime<Utc>,
                limit: usize,
            ) -> Result<Vec<RunId>, StoreError> {
                let query = sqlx::query_scalar::<_, RunId>(statements($dialect).stuck_runs)
                    .bind(Ts(since))
                    .bind(limit as i64);
                on!(self, read, |e| query.fetch_all(e).await).map_err(failed("find stuck runs"))
            }

            /// Inserts one stage row (`if_absent`: a row of the same `(run, stageId)` is kept).
            pub(crate) async fn op_update_stage(
                &mut self,
                id: &str,
                update: StageUpdate,
                expected: Option<i32>,
                now: DateTime<Utc>,
            ) -> Result<StageRecord, StoreError> {
                let mut qb = update_head::<$db>("workflow_stages", now);
                if let Some(status) = update.status {
                    qb.push(", \"status\" = ");
                    push_status!(qb, $dialect, status);
                }
                push_set!(qb, "startedAt", update.started_at.map(|v| v.map(Ts)));
                push_set!(qb, "completedAt", update.completed_at.map(|v| v.map(Ts)));
                push_set!(qb, "duration", update.duration);
                push_set!(qb, "outputData", update.output_data.map(|v| v.map(Json)));
                push_set!(
                    qb,
                    "suspendedState",
                    update.suspended_state.map(|v| v.map(Json))
                );
                push_set!(qb, "nextPollAt", update.next_poll_at.map(|v| v.map(Ts)));
                push_set!(qb, "pollInterval", update.poll_interval);
                push_set!(qb, "maxWaitUntil", update.max_wait_until.map(|v| v.map(Ts)));
                push_set!(qb, "metrics", update.metrics.map(|v| v.map(Json)));
                push_set!(
                    qb,
                    "embeddingInfo",
                    update.embedding_info.map(|v| v.map(Json))
                );
                push_set!(qb, "errorMessage", update.error_message);
                self.guarded_update(qb, &STAGES, "WorkflowStage", id, expected)
                    .await
            }

            pub(crate) async fn op_get_stage(
                &mut self,
                run_id: &str,
                stage_id: &str,
            ) -> Result<Option<StageRecord>, StoreError> {
                let query =
                    sqlx::query_as::<_, Decoded<StageRecord>>(statements($dialect).get_stage)
                        .bind(run_id)
                        .bind(stage_id);
                on!(self, read, |e| query.fetch_optional(e).await)
                    .map(|row| row.map(|d| d.0))
                    .map_err(failed("read a stage row"))
            }

            pub(crate) async fn op_stages_by_run(
                &mut self,
                run_id: &str,
            ) -> Result<Vec<StageRecord>, StoreError> {
                let query =
                    sqlx::query_as::<_, Decoded<StageRecord>>(statements($dialect).stages_by_run)
                        .bind(run_id);
                on!(self, read, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("read a run's stages"))
            }

            pub(crate) async fn op_suspended_stages_due(
                &mut self,
                before: DateTime<Utc>,
                limit: usize,
            ) -> Result<Vec<StageRecord>, StoreError> {
                let query = sqlx::query(statements($dialect).suspended_due)
                    .bind(Ts(before))
                    .bind(limit as i64);
                let rows = on!(self, read, |e| query.fetch_all(e).await)
                    .map_err(failed("find due suspended stages"))?;
                Ok(crate::tables::all_readable(rows, crate::tables::stage))
            }

            pub(crate) async fn op_next_suspended_poll(
                &mut self,
            ) -> Result<Option<DateTime<Utc>>, StoreError> {
                let query =
                    sqlx::query_scalar::<_, Option<Ts>>(statements($dialect).next_suspended_poll);
                on!(self, read, |e| query.fetch_one(e).await)
                    .map(|at| at.map(|ts| ts.0))
                    .map_err(failed("read the next poll time"))
            }

            pub(crate) async fn op_delete_stages_from_group(
                &mut self,
                run_id: &str,
                group: i32,
            ) -> Result<Vec<StageRecord>, StoreError> {
                let query = sqlx::query_as::<_, Decoded<StageRecord>>(
                    statements($dialect).delete_stages_from_group,
                )
                .bind(run_id)
                .bind(group);
                let mut deleted: Vec<StageRecord> = on!(self, write, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("delete stage rows"))?;
                deleted.sort_by_key(|s| (s.execution_group, s.stage_number));
                Ok(deleted)
            }
        }
    };
}

#[cfg(feature = "postgres")]
runs_ops!(Postgres, Dialect::Postgres);
#[cfg(feature = "sqlite")]
runs_ops!(Sqlite, Dialect::Sqlite);
