//! `workflow_artifacts` as a blob store: one row per key of a run (`workflow-v2/<type>/<runId>/...`).

use super::execute;
use crate::sql::{Arg, Cell, Kind, SqlConn, backend};
use chrono::{DateTime, Utc};
use serde_json::Value;
use workflow_core::ids::cuid;
use workflow_core::ports::StoreError;

/// The run a blob key belongs to: the third segment of `workflow-v2/<workflowType>/<runId>/...`.
pub(crate) fn run_of(key: &str) -> Result<&str, StoreError> {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("workflow-v2"), Some(_), Some(run)) if !run.is_empty() => Ok(run),
        _ => Err(StoreError::Misconfigured(format!(
            "the database blob store keeps blobs per run: key {key:?} is not of the form workflow-v2/<workflowType>/<runId>/..., \
             build keys with ctx.storage().stage_key(..)"
        ))),
    }
}

pub(crate) async fn put(
    conn: &mut dyn SqlConn,
    key: &str,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let run = run_of(key)?;
    let size = i32::try_from(value.to_string().len()).unwrap_or(i32::MAX);
    let sql = "INSERT INTO \"workflow_artifacts\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"key\", \"type\", \"data\", \"size\") \
               VALUES ($1, $2, $2, $3, $4, 'json', $5, $6) ON CONFLICT (\"workflowRunId\", \"key\") \
               DO UPDATE SET \"data\" = excluded.\"data\", \"size\" = excluded.\"size\", \"updatedAt\" = excluded.\"updatedAt\"";
    let args = vec![
        Arg::text(cuid()),
        Arg::at(now),
        Arg::text(run),
        Arg::text(key),
        Arg::Json(Some(value.clone())),
        Arg::Int(Some(size)),
    ];
    execute(conn, sql, args, &format!("store blob {key}"))
        .await
        .map(drop)
}

pub(crate) async fn get(conn: &mut dyn SqlConn, key: &str) -> Result<Option<Value>, StoreError> {
    let run = run_of(key)?;
    let sql = "SELECT \"id\", \"data\" FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 AND \"key\" = $2";
    let rows = conn
        .query(
            sql,
            vec![Arg::text(run), Arg::text(key)],
            &[Kind::Text, Kind::Json],
        )
        .await
        .map_err(backend(format!("read blob {key}")))?;
    let Some(cells) = rows.first() else {
        return Ok(None);
    };
    match &cells[1] {
        Cell::Json(value) => Ok(Some(value.clone())),
        Cell::Null => Ok(Some(Value::Null)),
        other => Err(StoreError::CorruptRow {
            table: "workflow_artifacts",
            row_id: match &cells[0] {
                Cell::Text(id) => id.clone(),
                _ => key.to_owned(),
            },
            column: "data",
            message: format!("{other:?}"),
        }),
    }
}

pub(crate) async fn delete(conn: &mut dyn SqlConn, key: &str) -> Result<(), StoreError> {
    let run = run_of(key)?;
    let sql = "DELETE FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 AND \"key\" = $2";
    execute(
        conn,
        sql,
        vec![Arg::text(run), Arg::text(key)],
        &format!("delete blob {key}"),
    )
    .await
    .map(drop)
}

pub(crate) async fn list(conn: &mut dyn SqlConn, prefix: &str) -> Result<Vec<String>, StoreError> {
    let (sql, args) = match run_of(prefix) {
        Ok(run) => (
            "SELECT \"key\" FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 AND substr(\"key\", 1, length($2)) = $2 ORDER BY \"key\"",
            vec![Arg::text(run), Arg::text(prefix)],
        ),
        Err(_) => (
            "SELECT \"key\" FROM \"workflow_artifacts\" WHERE substr(\"key\", 1, length($1)) = $1 ORDER BY \"key\"",
            vec![Arg::text(prefix)],
        ),
    };
    let rows = conn
        .query(sql, args, &[Kind::Text])
        .await
        .map_err(backend(format!("list blobs under {prefix}")))?;
    Ok(rows
        .into_iter()
        .filter_map(|cells| match cells.into_iter().next() {
            Some(Cell::Text(key)) => Some(key),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_run() {
        assert_eq!(
            run_of("workflow-v2/doc/r1/extract/output.json").unwrap(),
            "r1"
        );
        assert_eq!(run_of("workflow-v2/doc/r1/").unwrap(), "r1");
        assert!(
            run_of("my-key")
                .unwrap_err()
                .to_string()
                .contains("is not of the form workflow-v2")
        );
        assert!(run_of("workflow-v2/doc/").is_err());
    }
}
