//! The read-only [`RunQueries`] (both databases), each on an index of the Prisma schema: runs by primary
//! key (`ORDER BY "id" DESC`, filters applied along it or through the `status` / `workflowId` indexes), a
//! run's events by `@@unique([workflowRunId, sequence])`, the feed of all runs by primary key. The
//! `EXPLAIN` tests (`tests/query_plans.rs`) hold them to it at 100,000 runs.

use super::{SqlExecutor, failed};
use crate::codec::Ts;
use crate::sql::{Dialect, statements};
use crate::tables::{Decoded, RUNS};
use async_trait::async_trait;

#[cfg(feature = "postgres")]
use sqlx::Postgres;
use sqlx::QueryBuilder;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use std::collections::BTreeMap;
use workflow_core::ports::*;

/// The `EXISTS` test of an annotation filter (the subquery uses `@@index([workflowRunId, key])`); JSON is
/// compared as `jsonb` on PostgreSQL and in SQLite's minified `json()` form.
fn annotation_match(dialect: Dialect) -> (&'static str, &'static str, &'static str) {
    match dialect {
        Dialect::Postgres => (
            " AND EXISTS (SELECT 1 FROM \"workflow_annotations\" a WHERE a.\"workflowRunId\" = \"workflow_runs\".\"id\" AND a.\"key\" = ",
            " AND a.\"value\" = CAST(",
            " AS jsonb))",
        ),
        Dialect::Sqlite => (
            " AND EXISTS (SELECT 1 FROM \"workflow_annotations\" a WHERE a.\"workflowRunId\" = \"workflow_runs\".\"id\" AND a.\"key\" = ",
            " AND json(a.\"value\") = json(",
            "))",
        ),
    }
}

macro_rules! queries_impl {
    ($db:ty, $dialect:expr) => {
        impl SqlExecutor<$db> {
            /// The `list_runs` statement with its binds, after `prefix` (`EXPLAIN ` for the plan tests).
            pub(crate) fn list_runs_statement(
                filter: &RunFilter,
                prefix: &'static str,
            ) -> QueryBuilder<$db> {
                let mut qb = QueryBuilder::<$db>::new(format!(
                    "{}{}",
                    prefix,
                    RUNS.select_from($dialect, "WHERE 1 = 1")
                ));
                if let Some(status) = filter.status {
                    qb.push(" AND \"status\" = ");
                    push_status!(qb, $dialect, status);
                }
                if let Some(workflow_id) = &filter.workflow_id {
                    qb.push(" AND \"workflowId\" = ")
                        .push_bind(workflow_id.clone());
                }
                if let Some(from) = filter.created_from {
                    qb.push(" AND \"createdAt\" >= ").push_bind(Ts(from));
                }
                if let Some(before) = filter.created_before {
                    qb.push(" AND \"createdAt\" < ").push_bind(Ts(before));
                }
                if let Some(before_id) = &filter.before_id {
                    qb.push(" AND \"id\" < ").push_bind(before_id.clone());
                }
                if let Some((key, value)) = &filter.annotation {
                    let (head, value_head, tail) = annotation_match($dialect);
                    qb.push(head)
                        .push_bind(key.clone())
                        .push(value_head)
                        .push_bind(value.to_string())
                        .push(tail);
                }
                qb.push(" ORDER BY \"id\" DESC LIMIT ")
                    .push_bind(filter.limit.unwrap_or(100) as i64);
                qb

            }
        }

        #[async_trait]
        impl RunQueries for SqlExecutor<$db> {
            async fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
                let mut qb = Self::list_runs_statement(filter, "");
                on!(self, read, |e| qb
                    .build_query_as::<Decoded<RunRecord>>()
                    .fetch_all(e)
                    .await)
                .map(|rows| rows.into_iter().map(|d| d.0).collect())
                .map_err(failed("list runs"))
            }

            async fn count_runs(&mut self) -> Result<Vec<RunCount>, StoreError> {
                let query = sqlx::query_as::<_, (String, String, i64)>(
                    "SELECT \"workflowId\", CAST(\"status\" AS TEXT), COUNT(*) FROM \"workflow_runs\" \
                     GROUP BY 1, 2 ORDER BY 1, 2",
                );
                let rows = on!(self, read, |e| query.fetch_all(e).await)
                    .map_err(failed("count runs"))?;
                rows.into_iter()
                    .map(|(workflow_id, status, count)| {
                        let status = Status::parse(&status).ok_or_else(|| StoreError::CorruptRow {
                            table: "workflow_runs",
                            row_id: format!("(a run of {workflow_id})"),
                            column: "status",
                            message: format!("unknown status {status:?}"),
                        })?;
                        Ok(RunCount {
                            workflow_id: workflow_id.into(),
                            status,
                            count: count as u64,
                        })
                    })
                    .collect()
            }

            async fn count_active_jobs(&mut self) -> Result<BTreeMap<Status, u64>, StoreError> {
                let query = sqlx::query_as::<_, (String, i64)>(
                    "SELECT CAST(\"status\" AS TEXT), COUNT(*) FROM \"job_queue\" \
                     WHERE \"status\" IN ('PENDING', 'RUNNING', 'SUSPENDED') GROUP BY 1",
                );
                let rows = on!(self, read, |e| query.fetch_all(e).await)
                    .map_err(failed("count queued jobs"))?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(status, count)| Some((Status::parse(&status)?, count as u64)))
                    .collect())
            }

            async fn outbox_after(
                &mut self,
                run_id: &str,
                after_sequence: i32,
                limit: usize,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                let query = sqlx::query_as::<_, Decoded<OutboxRecord>>(
                    statements($dialect).outbox_after,
                )
                    .bind(run_id)
                    .bind(after_sequence)
                    .bind(limit as i64);
                on!(self, read, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("read a run's events"))
            }

            async fn outbox_feed(
                &mut self,
                after_id: Option<&str>,
                before_id: &str,
                limit: usize,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                let query = sqlx::query_as::<_, Decoded<OutboxRecord>>(
                    statements($dialect).outbox_feed,
                )
                    .bind(after_id.unwrap_or(""))
                    .bind(before_id)
                    .bind(limit as i64);
                on!(self, read, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("read the event feed"))
            }
        }
    };
}

#[cfg(feature = "postgres")]
queries_impl!(Postgres, Dialect::Postgres);
#[cfg(feature = "sqlite")]
queries_impl!(Sqlite, Dialect::Sqlite);
