//! `workflow_runs`.

use super::{SetList, execute, fetch, update_by_id};
use crate::sql::{Arg, SqlConn};
use crate::tables::{self, RUNS};
use chrono::{DateTime, Utc};
use serde_json::Value;
use workflow_core::ids::cuid;
use workflow_core::ports::*;

pub(crate) async fn create(
    conn: &mut dyn SqlConn,
    run: NewRun,
    now: DateTime<Utc>,
) -> Result<RunRecord, StoreError> {
    let sql = format!(
        "INSERT INTO \"workflow_runs\" (\"id\", \"createdAt\", \"updatedAt\", \"version\", \"workflowId\", \"workflowName\", \
         \"workflowType\", \"status\", \"input\", \"config\", \"totalCost\", \"totalTokens\", \"priority\", \"metadata\") \
         VALUES ($1, $2, $2, 1, $3, $4, $5, 'PENDING', $6, $7, 0, 0, $8, $9) {}",
        RUNS.returning(conn.dialect())
    );
    let args = vec![
        Arg::text(cuid()),
        Arg::at(now),
        Arg::text(run.workflow_id),
        Arg::text(run.workflow_name),
        Arg::text(run.workflow_type),
        Arg::Json(Some(run.input)),
        Arg::Json(Some(run.config)),
        Arg::Int(Some(run.priority)),
        Arg::Json(run.metadata),
    ];
    let rows = fetch(conn, &RUNS, &sql, args, "create a run").await?;
    tables::run(&rows[0])
}

pub(crate) async fn get(conn: &mut dyn SqlConn, id: &str) -> Result<Option<RunRecord>, StoreError> {
    let sql = RUNS.select_from(conn.dialect(), "WHERE \"id\" = $1");
    let rows = fetch(conn, &RUNS, &sql, vec![Arg::text(id)], "read a run").await?;
    rows.first().map(|cells| tables::run(cells)).transpose()
}

/// The current version of a row, for a stale-version error.
pub(crate) async fn current_version(
    conn: &mut dyn SqlConn,
    table: &str,
    id: &str,
) -> Result<Option<i32>, StoreError> {
    let sql = format!("SELECT \"version\" FROM \"{table}\" WHERE \"id\" = $1");
    let rows = conn
        .query(&sql, vec![Arg::text(id)], &[crate::sql::Kind::Int])
        .await
        .map_err(crate::sql::backend("read a version"))?;
    Ok(rows.first().and_then(|cells| match cells[0] {
        crate::sql::Cell::Int(n) => i32::try_from(n).ok(),
        _ => None,
    }))
}

/// The error of a guarded update that changed no row.
pub(crate) async fn missing_or_stale(
    conn: &mut dyn SqlConn,
    table: &str,
    entity: &'static str,
    id: &str,
    expected: Option<i32>,
) -> StoreError {
    match expected {
        None => StoreError::NotFound {
            entity,
            id: id.to_owned(),
        },
        Some(expected) => {
            let actual = current_version(conn, table, id).await.ok().flatten();
            StoreError::StaleVersion {
                entity,
                id: id.to_owned(),
                expected: i64::from(expected),
                actual: actual.map_or(-1, i64::from),
            }
        }
    }
}

pub(crate) async fn update(
    conn: &mut dyn SqlConn,
    id: &str,
    update: RunUpdate,
    expected: Option<i32>,
    now: DateTime<Utc>,
) -> Result<RunRecord, StoreError> {
    let dialect = conn.dialect();
    let mut set = SetList::new(now, true);
    set.set_status(dialect, update.status);
    set.set("startedAt", update.started_at.map(Arg::Timestamp));
    set.set("completedAt", update.completed_at.map(Arg::Timestamp));
    set.set("duration", update.duration.map(Arg::Int));
    set.set("output", update.output.map(Arg::Json));
    set.set("totalCost", update.total_cost.map(|v| Arg::Float(Some(v))));
    set.set(
        "totalTokens",
        update.total_tokens.map(|v| Arg::Int(Some(v))),
    );
    update_by_id(conn, &RUNS, "WorkflowRun", set, id, expected, tables::run).await
}

pub(crate) async fn claim_next_pending(
    conn: &mut dyn SqlConn,
    now: DateTime<Utc>,
) -> Result<Option<RunRecord>, StoreError> {
    let dialect = conn.dialect();
    let sql = format!(
        "UPDATE \"workflow_runs\" SET \"status\" = 'RUNNING', \"startedAt\" = $1, \"updatedAt\" = $1, \"version\" = \"version\" + 1 \
         WHERE \"id\" = (SELECT \"id\" FROM \"workflow_runs\" WHERE \"status\" = 'PENDING' \
         ORDER BY \"priority\" DESC, \"createdAt\" ASC LIMIT 1{}) {}",
        dialect.skip_locked(),
        RUNS.returning(dialect)
    );
    let rows = fetch(conn, &RUNS, &sql, vec![Arg::at(now)], "claim a pending run").await?;
    rows.first().map(|cells| tables::run(cells)).transpose()
}

pub(crate) async fn quarantine(
    conn: &mut dyn SqlConn,
    id: &str,
    output: Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sql = "UPDATE \"workflow_runs\" SET \"status\" = 'FAILED', \"completedAt\" = $2, \"updatedAt\" = $2, \"output\" = $3, \
               \"version\" = \"version\" + 1 WHERE \"id\" = $1";
    execute(
        conn,
        sql,
        vec![Arg::text(id), Arg::at(now), Arg::Json(Some(output))],
        "quarantine a run",
    )
    .await
    .map(drop)
}

pub(crate) async fn stuck(
    conn: &mut dyn SqlConn,
    since: DateTime<Utc>,
) -> Result<Vec<RunRecord>, StoreError> {
    let rest = "WHERE \"status\" = 'RUNNING' AND \"updatedAt\" <= $1 AND NOT EXISTS (SELECT 1 FROM \"workflow_stages\" s \
                WHERE s.\"workflowRunId\" = \"workflow_runs\".\"id\" AND s.\"updatedAt\" > $1) ORDER BY \"updatedAt\" ASC";
    let sql = RUNS.select_from(conn.dialect(), rest);
    let rows = fetch(conn, &RUNS, &sql, vec![Arg::at(since)], "find stuck runs").await?;
    Ok(tables::all_readable(rows, tables::run))
}

pub(crate) async fn list(
    conn: &mut dyn SqlConn,
    filter: &RunFilter,
) -> Result<Vec<RunRecord>, StoreError> {
    let dialect = conn.dialect();
    let mut conditions = Vec::new();
    let mut args = Vec::new();
    if let Some(status) = filter.status {
        conditions.push(format!("\"status\" = {}", dialect.status(args.len() + 1)));
        args.push(Arg::Status(status));
    }
    if let Some(workflow_id) = &filter.workflow_id {
        conditions.push(format!("\"workflowId\" = ${}", args.len() + 1));
        args.push(Arg::text(workflow_id));
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let rest = format!(
        "{filter_sql} ORDER BY \"createdAt\" DESC, \"id\" DESC LIMIT ${}",
        args.len() + 1
    );
    args.push(Arg::BigInt(filter.limit.unwrap_or(100) as i64));
    let sql = RUNS.select_from(dialect, &rest);
    let rows = fetch(conn, &RUNS, &sql, args, "list runs").await?;
    tables::all(rows, tables::run)
}
