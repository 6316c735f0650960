//! A thin layer over sqlx that lets one implementation of the stores serve PostgreSQL and SQLite.
//!
//! Every statement is one SQL text with `$n` placeholders (both drivers bind `$n` by number) and a list
//! of [`Arg`]s; every row comes back as [`Cell`]s read by the column's [`Kind`]. The dialects differ only in
//! how they bind and read values (timestamps, JSON, the `"Status"` enum) and in a few SQL fragments.
//!
//! All SQL text is assembled from constant fragments and placeholders; no value is ever formatted into it.

/// Implements [`SqlConn`] for a sqlx connection type over its module's `bind` and `read` functions (the
/// only parts that differ between databases).
macro_rules! impl_sql_conn {
    ($connection:ty, $dialect:expr) => {
        #[async_trait::async_trait]
        impl $crate::sql::SqlConn for $connection {
            fn dialect(&self) -> $crate::sql::Dialect {
                $dialect
            }

            async fn query(
                &mut self,
                sql: &str,
                args: Vec<$crate::sql::Arg>,
                kinds: &[$crate::sql::Kind],
            ) -> Result<Vec<Vec<$crate::sql::Cell>>, sqlx::Error> {
                let query = args
                    .into_iter()
                    .fold(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), bind);
                let rows = query.fetch_all(&mut *self).await?;
                Ok(rows
                    .iter()
                    .map(|row| {
                        kinds
                            .iter()
                            .enumerate()
                            .map(|(i, kind)| read(row, i, *kind))
                            .collect()
                    })
                    .collect())
            }

            async fn execute(
                &mut self,
                sql: &str,
                args: Vec<$crate::sql::Arg>,
            ) -> Result<u64, sqlx::Error> {
                let query = args
                    .into_iter()
                    .fold(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), bind);
                Ok(query.execute(&mut *self).await?.rows_affected())
            }

            async fn execute_script(&mut self, script: &str) -> Result<(), sqlx::Error> {
                sqlx::raw_sql(sqlx::AssertSqlSafe(script.to_owned()))
                    .execute(&mut *self)
                    .await
                    .map(drop)
            }
        }
    };
}

mod postgres;
mod sqlite;
pub(crate) mod timestamp;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use workflow_core::ports::{Status, StoreError};

/// The two supported databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL (`TIMESTAMP(3)`, `JSONB`, the `"Status"` enum type).
    Postgres,
    /// SQLite (timestamps and JSON as text, status as text).
    Sqlite,
}

impl Dialect {
    /// The placeholder for a status value (`CAST($n::text AS "Status")` on PostgreSQL, as Prisma writes it).
    pub fn status(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("CAST(${n}::text AS \"Status\")"),
            Dialect::Sqlite => format!("${n}"),
        }
    }

    /// The select expression of a column of `kind` (`"status"::text` on PostgreSQL for the enum).
    pub fn select_column(self, name: &str, kind: Kind) -> String {
        match (self, kind) {
            (Dialect::Postgres, Kind::Status) => format!("\"{name}\"::text AS \"{name}\""),
            _ => format!("\"{name}\""),
        }
    }

    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serializes writers instead.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        }
    }

    /// `FOR UPDATE` on PostgreSQL (a row lock held to the end of the transaction).
    pub fn for_update(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }
}

/// How a column's value is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `TEXT`.
    Text,
    /// `INTEGER` (32-bit in Prisma's schema).
    Int,
    /// `DOUBLE PRECISION` / `REAL`.
    Float,
    /// `TIMESTAMP(3)` / text `YYYY-MM-DDTHH:MM:SS.sss+00:00`.
    Timestamp,
    /// `JSONB` / JSON text.
    Json,
    /// The `"Status"` enum / text.
    Status,
}

/// A bound value.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// Text or `NULL`.
    Text(Option<String>),
    /// A 32-bit integer or `NULL`.
    Int(Option<i32>),
    /// A 64-bit integer (limits, counts).
    BigInt(i64),
    /// A float or `NULL`.
    Float(Option<f64>),
    /// A timestamp or `NULL`.
    Timestamp(Option<DateTime<Utc>>),
    /// A JSON value or SQL `NULL`.
    Json(Option<Value>),
    /// A status (write the placeholder with [`Dialect::status`]).
    Status(Status),
}

impl Arg {
    /// Non-null text.
    pub fn text(value: impl Into<String>) -> Arg {
        Arg::Text(Some(value.into()))
    }

    /// A non-null timestamp.
    pub fn at(value: DateTime<Utc>) -> Arg {
        Arg::Timestamp(Some(value))
    }
}

/// A value read from a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// `NULL`.
    Null,
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A timestamp.
    Timestamp(DateTime<Utc>),
    /// JSON.
    Json(Value),
    /// A value that could not be read as its kind, and why.
    Invalid(String),
}

/// A connection that runs neutral statements.
#[async_trait]
pub trait SqlConn: Send {
    /// Which database this is.
    fn dialect(&self) -> Dialect;
    /// Runs a statement returning rows, each read as `kinds`.
    async fn query(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        kinds: &[Kind],
    ) -> Result<Vec<Vec<Cell>>, sqlx::Error>;
    /// Runs a statement; returns the number of rows it changed.
    async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, sqlx::Error>;
    /// Runs a script of several statements without arguments (migrations).
    async fn execute_script(&mut self, script: &str) -> Result<(), sqlx::Error>;
}

/// A backend error with what was being done.
pub fn backend(context: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    let context = context.into();
    move |error| StoreError::backend(context, error)
}

/// `$first, $first+1, ...` for `count` placeholders.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_fragments() {
        assert_eq!(Dialect::Postgres.status(3), "CAST($3::text AS \"Status\")");
        assert_eq!(Dialect::Sqlite.status(3), "$3");
        assert_eq!(
            Dialect::Postgres.select_column("status", Kind::Status),
            "\"status\"::text AS \"status\""
        );
        assert_eq!(
            Dialect::Sqlite.select_column("status", Kind::Status),
            "\"status\""
        );
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }
}
