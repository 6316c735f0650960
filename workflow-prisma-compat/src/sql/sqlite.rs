//! [`SqlConn`](super::SqlConn) for SQLite: timestamps and JSON as text. A JSON column may also hold a bare number as
//! `INTEGER` or `REAL` (column affinity), which is read back as that number.

use super::timestamp;
use super::{Arg, Cell, Dialect, Kind};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite, SqliteConnection, TypeInfo, ValueRef};

fn bind<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    arg: Arg,
) -> Query<'q, Sqlite, SqliteArguments> {
    match arg {
        Arg::Text(value) => query.bind(value),
        Arg::Int(value) => query.bind(value),
        Arg::BigInt(value) => query.bind(value),
        Arg::Float(value) => query.bind(value),
        Arg::Timestamp(value) => query.bind(value.map(timestamp::format)),
        Arg::Json(value) => query.bind(value.map(|v| v.to_string())),
        Arg::Status(status) => query.bind(status.as_str()),
    }
}

/// The storage class of a value (`NULL`, `INTEGER`, `REAL`, `TEXT`, `BLOB`).
fn storage_class(row: &SqliteRow, index: usize) -> Result<String, String> {
    let raw = row.try_get_raw(index).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok("NULL".to_owned());
    }
    Ok(raw.type_info().name().to_owned())
}

fn read(row: &SqliteRow, index: usize, kind: Kind) -> Cell {
    let class = match storage_class(row, index) {
        Ok(class) => class,
        Err(error) => return Cell::Invalid(error),
    };
    let get_text = || row.try_get::<String, _>(index).map_err(|e| e.to_string());
    let cell = match (kind, class.as_str()) {
        (_, "NULL") => Ok(Cell::Null),
        (Kind::Text | Kind::Status, "TEXT") => get_text().map(Cell::Text),
        (Kind::Int, "INTEGER") => row
            .try_get::<i64, _>(index)
            .map(Cell::Int)
            .map_err(|e| e.to_string()),
        (Kind::Float, "REAL" | "INTEGER") => row
            .try_get::<f64, _>(index)
            .map(Cell::Float)
            .map_err(|e| e.to_string()),
        (Kind::Timestamp, "TEXT") => get_text()
            .and_then(|text| timestamp::parse(&text))
            .map(Cell::Timestamp),
        (Kind::Timestamp, "INTEGER") => row
            .try_get::<i64, _>(index)
            .map_err(|e| e.to_string())
            .and_then(|ms| {
                chrono::DateTime::from_timestamp_millis(ms)
                    .ok_or_else(|| format!("timestamp {ms} ms is out of range"))
            })
            .map(Cell::Timestamp),
        (Kind::Json, "TEXT") => get_text()
            .and_then(|text| {
                serde_json::from_str(&text).map_err(|e| format!("malformed JSON: {e}"))
            })
            .map(Cell::Json),
        (Kind::Json, "INTEGER") => row
            .try_get::<i64, _>(index)
            .map(|n| Cell::Json(n.into()))
            .map_err(|e| e.to_string()),
        (Kind::Json, "REAL") => row
            .try_get::<f64, _>(index)
            .map(|n| Cell::Json(n.into()))
            .map_err(|e| e.to_string()),
        (kind, class) => Err(format!(
            "expected a {kind:?} value, found storage class {class}"
        )),
    };
    cell.unwrap_or_else(Cell::Invalid)
}

impl_sql_conn!(SqliteConnection, Dialect::Sqlite);
