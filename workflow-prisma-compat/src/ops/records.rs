//! `workflow_logs`, `workflow_annotations`, `outbox_events`, `idempotency_keys` and `ai_calls`.

use super::{execute, fetch};
use crate::sql::{Arg, Cell, Dialect, Kind, SqlConn, backend, placeholders};
use crate::tables::{self, AI_CALLS, ANNOTATIONS, IDEMPOTENCY, LOGS, OUTBOX};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;
use workflow_core::ids::cuid;
use workflow_core::ports::persistence::{in_progress_marker, is_in_progress_marker};
use workflow_core::ports::*;

pub(crate) async fn create_log(
    conn: &mut dyn SqlConn,
    log: NewLog,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sql = "INSERT INTO \"workflow_logs\" (\"id\", \"createdAt\", \"workflowRunId\", \"workflowStageId\", \"level\", \"message\", \"metadata\") \
               VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let args = vec![
        Arg::text(cuid()),
        Arg::at(now),
        Arg::Text(log.workflow_run_id),
        Arg::Text(log.workflow_stage_id),
        Arg::text(log.level),
        Arg::text(log.message),
        Arg::Json(log.metadata),
    ];
    execute(conn, sql, args, "write a log line").await.map(drop)
}

pub(crate) async fn logs_by_run(
    conn: &mut dyn SqlConn,
    run_id: &str,
) -> Result<Vec<LogRecord>, StoreError> {
    let sql = LOGS.select_from(
        conn.dialect(),
        "WHERE \"workflowRunId\" = $1 ORDER BY \"createdAt\" ASC, \"id\" ASC",
    );
    let rows = fetch(conn, &LOGS, &sql, vec![Arg::text(run_id)], "read logs").await?;
    tables::all(rows, tables::log)
}

pub(crate) async fn append_annotations(
    conn: &mut dyn SqlConn,
    rows: Vec<NewAnnotation>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let sql = "INSERT INTO \"workflow_annotations\" (\"id\", \"createdAt\", \"workflowRunId\", \"workflowStageRecordId\", \"attempt\", \
               \"scope\", \"scopeId\", \"actorKind\", \"actorId\", \"actorVersion\", \"key\", \"value\", \"payload\", \"idempotencyKey\") \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
               ON CONFLICT (\"workflowRunId\", \"key\", \"idempotencyKey\") DO NOTHING";
    let mut inserted = 0;
    for row in rows {
        let args = vec![
            Arg::text(cuid()),
            Arg::at(now),
            Arg::text(row.workflow_run_id),
            Arg::Text(row.workflow_stage_record_id),
            Arg::Int(Some(row.attempt)),
            Arg::text(row.scope),
            Arg::Text(row.scope_id),
            Arg::Text(row.actor_kind),
            Arg::Text(row.actor_id),
            Arg::Text(row.actor_version),
            Arg::text(row.key),
            Arg::Json(Some(row.value)),
            Arg::Json(row.payload),
            Arg::Text(row.idempotency_key),
        ];
        inserted += execute(conn, sql, args, "write an annotation").await? as usize;
    }
    Ok(inserted)
}

pub(crate) async fn list_annotations(
    conn: &mut dyn SqlConn,
    run_id: &str,
    filter: &AnnotationFilter,
) -> Result<Vec<AnnotationRecord>, StoreError> {
    let mut conditions = vec!["\"workflowRunId\" = $1".to_owned()];
    let mut args = vec![Arg::text(run_id)];
    let mut add = |condition: &str, arg: Arg| {
        conditions.push(condition.replace('#', &format!("${}", args.len() + 1)));
        args.push(arg);
    };
    if let Some(key) = &filter.key {
        add("\"key\" = #", Arg::text(key));
    }
    if let Some(prefix) = &filter.key_prefix {
        // An exact, case-sensitive prefix on both databases (SQLite's LIKE ignores case).
        add("substr(\"key\", 1, length(#)) = #", Arg::text(prefix));
    }
    if let Some(scope) = &filter.scope {
        add("\"scope\" = #", Arg::text(scope));
    }
    if let Some(scope_id) = &filter.scope_id {
        add("\"scopeId\" = #", Arg::text(scope_id));
    }
    if let Some(actor_id) = &filter.actor_id {
        add("\"actorId\" = #", Arg::text(actor_id));
    }
    if let Some(actor_kind) = &filter.actor_kind {
        add("\"actorKind\" = #", Arg::text(actor_kind));
    }
    if let Some(attempt) = filter.attempt {
        add("\"attempt\" = #", Arg::Int(Some(attempt)));
    }
    if let Some(since) = filter.since {
        add("\"createdAt\" >= #", Arg::at(since));
    }
    if let Some(until) = filter.until {
        add("\"createdAt\" <= #", Arg::at(until));
    }
    let limit = filter
        .limit
        .unwrap_or(workflow_core::kernel::DEFAULT_LIST_LIMIT);
    let rest = format!(
        "WHERE {} ORDER BY \"createdAt\" ASC, \"id\" ASC LIMIT ${}",
        conditions.join(" AND "),
        args.len() + 1
    );
    args.push(Arg::BigInt(limit as i64));
    let sql = ANNOTATIONS.select_from(conn.dialect(), &rest);
    let rows = fetch(conn, &ANNOTATIONS, &sql, args, "list annotations").await?;
    tables::all(rows, tables::annotation)
}

pub(crate) async fn append_outbox(
    conn: &mut dyn SqlConn,
    run_id: &str,
    events: Vec<NewOutboxEvent>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    if conn.dialect() == Dialect::Postgres {
        // The lock the TypeScript engine takes too, so both serialize appends to one run's sequence.
        execute(
            conn,
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            vec![Arg::text(run_id)],
            "lock a run's outbox",
        )
        .await?;
    }
    let max = conn
        .query("SELECT COALESCE(MAX(\"sequence\"), 0) FROM \"outbox_events\" WHERE \"workflowRunId\" = $1", vec![Arg::text(run_id)], &[Kind::Int])
        .await
        .map_err(backend("read the outbox sequence"))?;
    let last = match max.first().map(|cells| &cells[0]) {
        Some(Cell::Int(n)) => *n as i32,
        _ => 0,
    };
    let sql = "INSERT INTO \"outbox_events\" (\"id\", \"createdAt\", \"workflowRunId\", \"sequence\", \"eventType\", \"payload\", \
               \"causationId\", \"occurredAt\", \"retryCount\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)";
    for (sequence, event) in (last + 1..).zip(events) {
        let args = vec![
            Arg::text(cuid()),
            Arg::at(now),
            Arg::text(run_id),
            Arg::Int(Some(sequence)),
            Arg::text(event.event_type),
            Arg::Json(Some(event.payload)),
            Arg::text(event.causation_id),
            Arg::at(event.occurred_at),
        ];
        execute(conn, sql, args, "append an outbox event").await?;
    }
    Ok(())
}

pub(crate) async fn unpublished_outbox(
    conn: &mut dyn SqlConn,
    limit: usize,
) -> Result<Vec<OutboxRecord>, StoreError> {
    let rest = "WHERE \"publishedAt\" IS NULL AND \"dlqAt\" IS NULL ORDER BY \"workflowRunId\" ASC, \"sequence\" ASC LIMIT $1";
    let sql = OUTBOX.select_from(conn.dialect(), rest);
    let rows = fetch(
        conn,
        &OUTBOX,
        &sql,
        vec![Arg::BigInt(limit as i64)],
        "read the outbox",
    )
    .await?;
    Ok(tables::all_readable(rows, tables::outbox))
}

pub(crate) async fn outbox_by_run(
    conn: &mut dyn SqlConn,
    run_id: &str,
) -> Result<Vec<OutboxRecord>, StoreError> {
    let sql = OUTBOX.select_from(
        conn.dialect(),
        "WHERE \"workflowRunId\" = $1 ORDER BY \"sequence\" ASC",
    );
    let rows = fetch(
        conn,
        &OUTBOX,
        &sql,
        vec![Arg::text(run_id)],
        "read a run's outbox",
    )
    .await?;
    tables::all(rows, tables::outbox)
}

pub(crate) async fn mark_published(
    conn: &mut dyn SqlConn,
    ids: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE \"outbox_events\" SET \"publishedAt\" = $1 WHERE \"id\" IN ({})",
            placeholders(2, chunk.len())
        );
        let args = std::iter::once(Arg::at(now))
            .chain(chunk.iter().map(Arg::text))
            .collect();
        execute(conn, &sql, args, "mark events published").await?;
    }
    Ok(())
}

pub(crate) async fn increment_retry(conn: &mut dyn SqlConn, id: &str) -> Result<i32, StoreError> {
    let sql = "UPDATE \"outbox_events\" SET \"retryCount\" = \"retryCount\" + 1 WHERE \"id\" = $1 RETURNING \"retryCount\"";
    let rows = conn
        .query(sql, vec![Arg::text(id)], &[Kind::Int])
        .await
        .map_err(backend("count a failed delivery"))?;
    match rows.first().map(|cells| &cells[0]) {
        Some(Cell::Int(n)) => Ok(*n as i32),
        _ => Err(StoreError::NotFound {
            entity: "OutboxEvent",
            id: id.to_owned(),
        }),
    }
}

pub(crate) async fn move_to_dlq(
    conn: &mut dyn SqlConn,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    execute(
        conn,
        "UPDATE \"outbox_events\" SET \"dlqAt\" = $2 WHERE \"id\" = $1",
        vec![Arg::text(id), Arg::at(now)],
        "dead-letter an event",
    )
    .await
    .map(drop)
}

pub(crate) async fn replay_dlq(conn: &mut dyn SqlConn, limit: usize) -> Result<usize, StoreError> {
    let sql = "UPDATE \"outbox_events\" SET \"dlqAt\" = NULL, \"retryCount\" = 0 WHERE \"id\" IN (SELECT \"id\" FROM \"outbox_events\" \
               WHERE \"dlqAt\" IS NOT NULL ORDER BY \"workflowRunId\" ASC, \"sequence\" ASC LIMIT $1)";
    Ok(execute(
        conn,
        sql,
        vec![Arg::BigInt(limit as i64)],
        "replay the dead-letter queue",
    )
    .await? as usize)
}

async fn idempotency_row(
    conn: &mut dyn SqlConn,
    key: &str,
    command: &str,
) -> Result<Option<(String, DateTime<Utc>, Value)>, StoreError> {
    let sql = IDEMPOTENCY.select_from(
        conn.dialect(),
        "WHERE \"key\" = $1 AND \"commandType\" = $2",
    );
    let rows = fetch(
        conn,
        &IDEMPOTENCY,
        &sql,
        vec![Arg::text(key), Arg::text(command)],
        "read an idempotency key",
    )
    .await?;
    let Some(cells) = rows.first() else {
        return Ok(None);
    };
    let reader = crate::tables::RowReader::new(&IDEMPOTENCY, cells);
    Ok(Some((
        reader.text("id")?,
        reader.timestamp("createdAt")?,
        reader.json("result")?,
    )))
}

pub(crate) async fn acquire_idempotency(
    conn: &mut dyn SqlConn,
    key: &str,
    command: &str,
    now: DateTime<Utc>,
    stale_after: Option<Duration>,
) -> Result<IdempotencyAcquire, StoreError> {
    let insert = "INSERT INTO \"idempotency_keys\" (\"id\", \"createdAt\", \"key\", \"commandType\", \"result\") VALUES ($1, $2, $3, $4, $5) \
                  ON CONFLICT (\"key\", \"commandType\") DO NOTHING";
    let args = vec![
        Arg::text(cuid()),
        Arg::at(now),
        Arg::text(key),
        Arg::text(command),
        Arg::Json(Some(in_progress_marker())),
    ];
    if execute(conn, insert, args, "take an idempotency key").await? == 1 {
        return Ok(IdempotencyAcquire::Acquired);
    }
    let Some((id, created_at, result)) = idempotency_row(conn, key, command).await? else {
        // Released between the insert and the read: try once more.
        return Box::pin(acquire_idempotency(conn, key, command, now, stale_after)).await;
    };
    if !is_in_progress_marker(&result) {
        return Ok(IdempotencyAcquire::Replay(result));
    }
    let stale = stale_after.is_some_and(|after| workflow_core::time::add(created_at, after) <= now);
    if !stale {
        return Ok(IdempotencyAcquire::InProgress);
    }
    // Reclaim atomically: only the dispatch that moves `createdAt` on wins.
    let reclaim = "UPDATE \"idempotency_keys\" SET \"createdAt\" = $3 WHERE \"id\" = $1 AND \"createdAt\" = $2";
    let won = execute(
        conn,
        reclaim,
        vec![Arg::text(id), Arg::at(created_at), Arg::at(now)],
        "reclaim an idempotency key",
    )
    .await?;
    Ok(if won == 1 {
        IdempotencyAcquire::Acquired
    } else {
        IdempotencyAcquire::InProgress
    })
}

pub(crate) async fn complete_idempotency(
    conn: &mut dyn SqlConn,
    key: &str,
    command: &str,
    result: &Value,
) -> Result<(), StoreError> {
    let sql = "UPDATE \"idempotency_keys\" SET \"result\" = $3 WHERE \"key\" = $1 AND \"commandType\" = $2";
    execute(
        conn,
        sql,
        vec![
            Arg::text(key),
            Arg::text(command),
            Arg::Json(Some(result.clone())),
        ],
        "store a command result",
    )
    .await
    .map(drop)
}

pub(crate) async fn release_idempotency(
    conn: &mut dyn SqlConn,
    key: &str,
    command: &str,
) -> Result<(), StoreError> {
    let sql = "DELETE FROM \"idempotency_keys\" WHERE \"key\" = $1 AND \"commandType\" = $2";
    execute(
        conn,
        sql,
        vec![Arg::text(key), Arg::text(command)],
        "release an idempotency key",
    )
    .await
    .map(drop)
}

pub(crate) async fn get_idempotency(
    conn: &mut dyn SqlConn,
    key: &str,
    command: &str,
) -> Result<Option<Value>, StoreError> {
    Ok(idempotency_row(conn, key, command)
        .await?
        .map(|(_, _, result)| result))
}

pub(crate) async fn log_ai_call(
    conn: &mut dyn SqlConn,
    call: AiCallRecord,
) -> Result<String, StoreError> {
    let id = call.id;
    let sql = "INSERT INTO \"ai_calls\" (\"id\", \"createdAt\", \"topic\", \"callType\", \"modelKey\", \"modelId\", \"prompt\", \"response\", \
               \"inputTokens\", \"outputTokens\", \"cost\", \"metadata\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    let args = vec![
        Arg::text(id.clone()),
        Arg::at(call.created_at),
        Arg::text(call.topic),
        Arg::text(call.call_type),
        Arg::text(call.model_key),
        Arg::text(call.model_id),
        Arg::text(call.prompt),
        Arg::text(call.response),
        Arg::Int(Some(call.input_tokens)),
        Arg::Int(Some(call.output_tokens)),
        Arg::Float(Some(call.cost)),
        Arg::Json(call.metadata),
    ];
    execute(conn, sql, args, "log an AI call").await.map(|_| id)
}

pub(crate) async fn ai_calls_by_topic(
    conn: &mut dyn SqlConn,
    prefix: &str,
) -> Result<Vec<AiCallRecord>, StoreError> {
    let sql = AI_CALLS.select_from(
        conn.dialect(),
        "WHERE substr(\"topic\", 1, length($1)) = $1 ORDER BY \"createdAt\" ASC, \"id\" ASC",
    );
    let rows = fetch(
        conn,
        &AI_CALLS,
        &sql,
        vec![Arg::text(prefix)],
        "read AI calls",
    )
    .await?;
    tables::all(rows, tables::ai_call)
}
