//! [`SqlConn`](super::SqlConn) for PostgreSQL: timestamps as `TIMESTAMP(3)` (UTC wall clock), JSON as `JSONB`.

use super::{Arg, Cell, Dialect, Kind};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, Row};

fn bind<'q>(query: Query<'q, Postgres, PgArguments>, arg: Arg) -> Query<'q, Postgres, PgArguments> {
    match arg {
        Arg::Text(value) => query.bind(value),
        Arg::Int(value) => query.bind(value),
        Arg::BigInt(value) => query.bind(value),
        Arg::Float(value) => query.bind(value),
        Arg::Timestamp(value) => query.bind(value.map(|at| at.naive_utc())),
        Arg::Json(value) => query.bind(value.map(Json)),
        Arg::Status(status) => query.bind(status.as_str()),
    }
}

fn read(row: &PgRow, index: usize, kind: Kind) -> Cell {
    let cell = match kind {
        Kind::Text | Kind::Status => row
            .try_get::<Option<String>, _>(index)
            .map(|v| v.map(Cell::Text)),
        Kind::Int => row
            .try_get::<Option<i32>, _>(index)
            .map(|v| v.map(|n| Cell::Int(i64::from(n)))),
        Kind::Float => row
            .try_get::<Option<f64>, _>(index)
            .map(|v| v.map(Cell::Float)),
        Kind::Timestamp => row
            .try_get::<Option<chrono::NaiveDateTime>, _>(index)
            .map(|v| v.map(|n| Cell::Timestamp(n.and_utc()))),
        Kind::Json => row
            .try_get::<Option<Json<serde_json::Value>>, _>(index)
            .map(|v| v.map(|j| Cell::Json(j.0))),
    };
    match cell {
        Ok(Some(cell)) => cell,
        Ok(None) => Cell::Null,
        Err(error) => Cell::Invalid(error.to_string()),
    }
}

impl_sql_conn!(PgConnection, Dialect::Postgres);
