//! Logs, annotations, the outbox (its row operations), idempotency keys, blobs (`workflow_artifacts`) and
//! AI calls (both databases).

use super::{SqlExecutor, blob_run, failed};
use crate::codec::{Json, Ts};
use crate::sql::statements::TopicMatch;
use crate::sql::{Dialect, statements};
use crate::tables::{ANNOTATIONS, Decoded};
use chrono::{DateTime, Utc};
use serde_json::Value;
#[cfg(feature = "postgres")]
use sqlx::Postgres;
use sqlx::QueryBuilder;
#[cfg(feature = "sqlite")]
use sqlx::Sqlite;
use std::time::Duration;
use workflow_core::ai::AiUsage;
use workflow_core::ids::cuid;
use workflow_core::ports::*;
use workflow_core::ports::{in_progress_marker, is_in_progress_marker};

macro_rules! records_ops {
    ($db:ty, $dialect:expr) => {
        impl SqlExecutor<$db> {
            pub(crate) async fn op_create_logs(
                &mut self,
                logs: Vec<NewLog>,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                for log in logs {
                    let query = sqlx::query(statements($dialect).create_log)
                        .bind(cuid())
                        .bind(Ts(now))
                        .bind(log.workflow_run_id)
                        .bind(log.workflow_stage_id)
                        .bind(log.level.as_str())
                        .bind(log.message)
                        .bind(log.metadata.map(Json));
                    on!(self, write, |e| query.execute(e).await)
                        .map_err(failed("write a log line"))?;
                }
                Ok(())
            }

            pub(crate) async fn op_logs_by_run(
                &mut self,
                run_id: &str,
            ) -> Result<Vec<LogRecord>, StoreError> {
                let query =
                    sqlx::query_as::<_, Decoded<LogRecord>>(statements($dialect).logs_by_run)
                        .bind(run_id);
                on!(self, read, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("read logs"))
            }

            pub(crate) async fn op_append_annotations(
                &mut self,
                rows: Vec<NewAnnotation>,
                now: DateTime<Utc>,
            ) -> Result<usize, StoreError> {
                let mut inserted = 0;
                for row in rows {
                    let query = sqlx::query(statements($dialect).insert_annotation)
                        .bind(cuid())
                        .bind(Ts(now))
                        .bind(row.workflow_run_id)
                        .bind(row.workflow_stage_record_id)
                        .bind(row.attempt)
                        .bind(row.scope)
                        .bind(row.scope_id)
                        .bind(row.actor_kind)
                        .bind(row.actor_id)
                        .bind(row.actor_version)
                        .bind(row.key)
                        .bind(Json(row.value))
                        .bind(row.payload.map(Json))
                        .bind(row.idempotency_key);
                    inserted += on!(self, write, |e| query.execute(e).await)
                        .map_err(failed("write an annotation"))?
                        .rows_affected() as usize;
                }
                Ok(inserted)
            }

            pub(crate) async fn op_list_annotations(
                &mut self,
                run_id: &str,
                filter: &AnnotationFilter,
            ) -> Result<Vec<AnnotationRecord>, StoreError> {
                let mut qb = QueryBuilder::<$db>::new(
                    ANNOTATIONS.select_from($dialect, "WHERE \"workflowRunId\" = "),
                );
                qb.push_bind(run_id.to_owned());
                if let Some(key) = &filter.key {
                    qb.push(" AND \"key\" = ").push_bind(key.clone());
                }
                if let Some(prefix) = &filter.key_prefix {
                    // An exact, case-sensitive prefix on both databases (SQLite's LIKE ignores case).
                    qb.push(" AND substr(\"key\", 1, length(")
                        .push_bind(prefix.clone())
                        .push(")) = ")
                        .push_bind(prefix.clone());
                }
                if let Some(scope) = &filter.scope {
                    qb.push(" AND \"scope\" = ").push_bind(scope.clone());
                }
                if let Some(scope_id) = &filter.scope_id {
                    qb.push(" AND \"scopeId\" = ").push_bind(scope_id.clone());
                }
                if let Some(actor_id) = &filter.actor_id {
                    qb.push(" AND \"actorId\" = ").push_bind(actor_id.clone());
                }
                if let Some(actor_kind) = &filter.actor_kind {
                    qb.push(" AND \"actorKind\" = ")
                        .push_bind(actor_kind.clone());
                }
                if let Some(attempt) = filter.attempt {
                    qb.push(" AND \"attempt\" = ").push_bind(attempt);
                }
                if let Some(since) = filter.since {
                    qb.push(" AND \"createdAt\" >= ").push_bind(Ts(since));
                }
                if let Some(until) = filter.until {
                    qb.push(" AND \"createdAt\" <= ").push_bind(Ts(until));
                }
                let limit = filter
                    .limit
                    .unwrap_or(workflow_core::kernel::DEFAULT_LIST_LIMIT);
                qb.push(" ORDER BY \"createdAt\" ASC, \"id\" ASC LIMIT ")
                    .push_bind(limit as i64);
                on!(self, read, |e| qb
                    .build_query_as::<Decoded<AnnotationRecord>>()
                    .fetch_all(e)
                    .await)
                .map(|rows| rows.into_iter().map(|d| d.0).collect())
                .map_err(failed("list annotations"))
            }

            pub(crate) async fn op_claim_outbox(
                &mut self,
                limit: usize,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                let query = sqlx::query(statements($dialect).claim_outbox).bind(limit as i64);
                let rows = on!(self, write, |e| query.fetch_all(e).await)
                    .map_err(failed("read the outbox"))?;
                Ok(crate::tables::all_readable(rows, crate::tables::outbox))
            }

            pub(crate) async fn op_outbox_by_run(
                &mut self,
                run_id: &str,
            ) -> Result<Vec<OutboxRecord>, StoreError> {
                let query =
                    sqlx::query_as::<_, Decoded<OutboxRecord>>(statements($dialect).outbox_by_run)
                        .bind(run_id);
                on!(self, read, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("read a run's outbox"))
            }

            pub(crate) async fn op_mark_outbox_published(
                &mut self,
                ids: &[String],
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                for chunk in ids.chunks(500) {
                    let mut qb =
                        QueryBuilder::<$db>::new("UPDATE \"outbox_events\" SET \"publishedAt\" = ");
                    qb.push_bind(Ts(now)).push(" WHERE \"id\" IN (");
                    let mut separated = qb.separated(", ");
                    for id in chunk {
                        separated.push_bind(id.clone());
                    }
                    qb.push(")");
                    on!(self, write, |e| qb.build().execute(e).await)
                        .map_err(failed("mark events published"))?;
                }
                Ok(())
            }

            pub(crate) async fn op_increment_outbox_retry(
                &mut self,
                id: &str,
            ) -> Result<i32, StoreError> {
                let query =
                    sqlx::query_scalar::<_, i32>(statements($dialect).increment_retry).bind(id);
                on!(self, write, |e| query.fetch_optional(e).await)
                    .map_err(failed("count a failed delivery"))?
                    .ok_or_else(|| StoreError::NotFound {
                        entity: "OutboxEvent",
                        id: id.to_owned(),
                    })
            }

            pub(crate) async fn op_move_outbox_to_dlq(
                &mut self,
                id: &str,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let query = sqlx::query(statements($dialect).move_to_dlq)
                    .bind(id)
                    .bind(Ts(now));
                on!(self, write, |e| query.execute(e).await)
                    .map(drop)
                    .map_err(failed("dead-letter an event"))
            }

            pub(crate) async fn op_replay_dlq(
                &mut self,
                limit: usize,
            ) -> Result<usize, StoreError> {
                let query = sqlx::query(statements($dialect).replay_dlq).bind(limit as i64);
                on!(self, write, |e| query.execute(e).await)
                    .map(|done| done.rows_affected() as usize)
                    .map_err(failed("replay the dead-letter queue"))
            }

            async fn idempotency_row(
                &mut self,
                key: &str,
                command: &str,
            ) -> Result<Option<(String, DateTime<Utc>, Value)>, StoreError> {
                let query =
                    sqlx::query_as::<_, (String, Ts, Json)>(statements($dialect).get_idempotency)
                        .bind(key.to_owned())
                        .bind(command.to_owned());
                on!(self, write, |e| query.fetch_optional(e).await)
                    .map(|row| row.map(|(id, at, result)| (id, at.0, result.0)))
                    .map_err(failed("read an idempotency key"))
            }

            pub(crate) async fn op_acquire_idempotency_key(
                &mut self,
                key: &str,
                command: &str,
                now: DateTime<Utc>,
                stale_after: Option<Duration>,
            ) -> Result<IdempotencyAcquire, StoreError> {
                let sql = statements($dialect);
                for _ in 0..3 {
                    let query = sqlx::query(sql.insert_idempotency)
                        .bind(cuid())
                        .bind(Ts(now))
                        .bind(key.to_owned())
                        .bind(command.to_owned())
                        .bind(Json(in_progress_marker()));
                    let inserted = on!(self, write, |e| query.execute(e).await)
                        .map_err(failed("take an idempotency key"))?
                        .rows_affected();
                    if inserted == 1 {
                        return Ok(IdempotencyAcquire::Acquired);
                    }
                    // Released between the insert and the read: try again.
                    let Some((id, created_at, result)) = self.idempotency_row(key, command).await?
                    else {
                        continue;
                    };
                    if !is_in_progress_marker(&result) {
                        return Ok(IdempotencyAcquire::Replay(result));
                    }
                    let stale = stale_after
                        .is_some_and(|after| workflow_core::time::add(created_at, after) <= now);
                    if !stale {
                        return Ok(IdempotencyAcquire::InProgress);
                    }
                    // Reclaim atomically: only the dispatch that moves `createdAt` on wins.
                    let query = sqlx::query(sql.reclaim_idempotency)
                        .bind(id)
                        .bind(Ts(created_at))
                        .bind(Ts(now));
                    let won = on!(self, write, |e| query.execute(e).await)
                        .map_err(failed("reclaim an idempotency key"))?
                        .rows_affected();
                    return Ok(if won == 1 {
                        IdempotencyAcquire::Acquired
                    } else {
                        IdempotencyAcquire::InProgress
                    });
                }
                Ok(IdempotencyAcquire::InProgress)
            }

            pub(crate) async fn op_complete_idempotency_key(
                &mut self,
                key: &str,
                command: &str,
                result: &Value,
            ) -> Result<(), StoreError> {
                let query = sqlx::query(statements($dialect).complete_idempotency)
                    .bind(key.to_owned())
                    .bind(command.to_owned())
                    .bind(Json(result.clone()));
                on!(self, write, |e| query.execute(e).await)
                    .map(drop)
                    .map_err(failed("store a command result"))
            }

            pub(crate) async fn op_release_idempotency_key(
                &mut self,
                key: &str,
                command: &str,
            ) -> Result<(), StoreError> {
                let query = sqlx::query(statements($dialect).release_idempotency)
                    .bind(key.to_owned())
                    .bind(command.to_owned());
                on!(self, write, |e| query.execute(e).await)
                    .map(drop)
                    .map_err(failed("release an idempotency key"))
            }

            pub(crate) async fn op_get_idempotency_key(
                &mut self,
                key: &str,
                command: &str,
            ) -> Result<Option<Value>, StoreError> {
                Ok(self
                    .idempotency_row(key, command)
                    .await?
                    .map(|(_, _, result)| result))
            }

            pub(crate) async fn op_delete_blob(&mut self, key: &str) -> Result<(), StoreError> {
                let run = blob_run(key)?.to_owned();
                let query = sqlx::query(statements($dialect).delete_blob)
                    .bind(run)
                    .bind(key.to_owned());
                on!(self, write, |e| query.execute(e).await)
                    .map(drop)
                    .map_err(failed("delete a blob"))
            }

            pub(crate) async fn op_list_blobs(
                &mut self,
                prefix: &str,
            ) -> Result<Vec<String>, StoreError> {
                let run = blob_run(prefix)?.to_owned();
                let query = sqlx::query_scalar::<_, String>(statements($dialect).list_blobs)
                    .bind(run)
                    .bind(prefix.to_owned());
                on!(self, read, |e| query.fetch_all(e).await).map_err(failed("list blobs"))
            }

            pub(crate) async fn op_delete_blob_prefix(
                &mut self,
                prefix: &str,
            ) -> Result<usize, StoreError> {
                let run = blob_run(prefix)?.to_owned();
                let query = sqlx::query(statements($dialect).delete_blob_prefix)
                    .bind(run)
                    .bind(prefix.to_owned());
                on!(self, write, |e| query.execute(e).await)
                    .map(|done| done.rows_affected() as usize)
                    .map_err(failed("delete blobs"))
            }

            pub(crate) async fn op_log_ai_call(
                &mut self,
                call: AiCallRecord,
            ) -> Result<String, StoreError> {
                let id = call.id.clone();
                let query = sqlx::query(statements($dialect).insert_ai_call)
                    .bind(call.id)
                    .bind(Ts(call.created_at))
                    .bind(call.topic)
                    .bind(call.call_type.as_str())
                    .bind(call.model_key)
                    .bind(call.model_id)
                    .bind(call.prompt)
                    .bind(call.response)
                    .bind(call.input_tokens)
                    .bind(call.output_tokens)
                    .bind(call.cost)
                    .bind(call.metadata.map(Json));
                on!(self, write, |e| query.execute(e).await).map_err(failed("log an AI call"))?;
                Ok(id)
            }

            pub(crate) async fn op_ai_calls_by_topic(
                &mut self,
                prefix: &str,
                matching: TopicMatch,
            ) -> Result<Vec<AiCallRecord>, StoreError> {
                let (matching, upper) = matching.bounds(prefix);
                let query = sqlx::query_as::<_, Decoded<AiCallRecord>>(
                    statements($dialect).ai_calls_by_topic[matching as usize],
                )
                .bind(prefix.to_owned());
                let query = match upper {
                    Some(upper) => query.bind(upper),
                    None => query,
                };
                on!(self, read, |e| query.fetch_all(e).await)
                    .map(|rows| rows.into_iter().map(|d| d.0).collect())
                    .map_err(failed("read AI calls"))
            }

            pub(crate) async fn op_ai_usage_by_topic(
                &mut self,
                prefix: &str,
                matching: TopicMatch,
            ) -> Result<AiUsage, StoreError> {
                let (matching, upper) = matching.bounds(prefix);
                let query = sqlx::query_as::<_, (i64, i64, i64, f64)>(
                    statements($dialect).ai_usage_by_topic[matching as usize],
                )
                .bind(prefix.to_owned());
                let query = match upper {
                    Some(upper) => query.bind(upper),
                    None => query,
                };
                let (calls, input, output, cost) = on!(self, read, |e| query.fetch_one(e).await)
                    .map_err(failed("sum AI calls"))?;
                Ok(AiUsage {
                    calls: calls.max(0) as usize,
                    input_tokens: input.max(0) as u64,
                    output_tokens: output.max(0) as u64,
                    total_cost: cost,
                })
            }
        }
    };
}

#[cfg(feature = "postgres")]
records_ops!(Postgres, Dialect::Postgres);
#[cfg(feature = "sqlite")]
records_ops!(Sqlite, Dialect::Sqlite);
