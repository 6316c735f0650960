//! The tables of the Prisma schema: their columns (in schema order) and the decoding of rows into the
//! port records, on sqlx rows of either database. A value that cannot be read is a
//! [`StoreError::CorruptRow`] naming the table, the row id and the column.

mod records;

pub(crate) use records::*;

use crate::codec::{Json, StatusText, Ts};
use crate::sql::Dialect;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgRow;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteRow;
use workflow_core::ports::{Status, StoreError};

/// A table and its columns.
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

impl Table {
    /// The select list of every column, in order (`"status"::text` on PostgreSQL, as Prisma reads it).
    pub fn select(&self, dialect: Dialect) -> String {
        self.columns
            .iter()
            .map(|name| match (dialect, *name) {
                (Dialect::Postgres, "status") => "\"status\"::text AS \"status\"".to_owned(),
                _ => format!("\"{name}\""),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SELECT <columns> FROM "<table>" <rest>`.
    pub fn select_from(&self, dialect: Dialect, rest: &str) -> String {
        format!(
            "SELECT {} FROM \"{}\" {rest}",
            self.select(dialect),
            self.name
        )
    }

    /// `RETURNING <columns>`.
    pub fn returning(&self, dialect: Dialect) -> String {
        format!("RETURNING {}", self.select(dialect))
    }
}

/// Reading one column of a row as a Prisma type (implemented for the rows of both databases).
pub(crate) trait Columns {
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn opt_float(&self, column: &str) -> Result<Option<f64>, sqlx::Error>;
    fn opt_ts(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error>;
    fn opt_json(&self, column: &str) -> Result<Option<Value>, sqlx::Error>;
    fn opt_status(&self, column: &str) -> Result<Option<Status>, sqlx::Error>;
}

#[cfg(feature = "postgres")]
impl Columns for PgRow {
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        Ok(self.try_get::<Option<i32>, _>(column)?.map(i64::from))
    }

    fn opt_float(&self, column: &str) -> Result<Option<f64>, sqlx::Error> {
        self.try_get(column)
    }

    fn opt_ts(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(self.try_get::<Option<Ts>, _>(column)?.map(|ts| ts.0))
    }

    fn opt_json(&self, column: &str) -> Result<Option<Value>, sqlx::Error> {
        Ok(self.try_get::<Option<Json>, _>(column)?.map(|json| json.0))
    }

    fn opt_status(&self, column: &str) -> Result<Option<Status>, sqlx::Error> {
        Ok(self.try_get::<Option<StatusText>, _>(column)?.map(|s| s.0))
    }
}

#[cfg(feature = "sqlite")]
impl Columns for SqliteRow {
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get_unchecked(column)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get_unchecked(column)
    }

    fn opt_float(&self, column: &str) -> Result<Option<f64>, sqlx::Error> {
        self.try_get_unchecked(column)
    }

    fn opt_ts(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        Ok(self.try_get::<Option<Ts>, _>(column)?.map(|ts| ts.0))
    }

    fn opt_json(&self, column: &str) -> Result<Option<Value>, sqlx::Error> {
        Ok(self.try_get::<Option<Json>, _>(column)?.map(|json| json.0))
    }

    fn opt_status(&self, column: &str) -> Result<Option<Status>, sqlx::Error> {
        Ok(self.try_get::<Option<StatusText>, _>(column)?.map(|s| s.0))
    }
}

/// Reads the columns of one row of `table`, naming the table, row and column in every error.
pub(crate) struct RowReader<'a, R> {
    table: &'a Table,
    row: &'a R,
    id: String,
}

/// What a decode error says (without sqlx's wrapping).
fn describe(error: sqlx::Error) -> String {
    match error {
        sqlx::Error::ColumnDecode { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

impl<'a, R: Columns> RowReader<'a, R> {
    /// A reader over `row`; the `id` column names the row in messages.
    pub fn new(table: &'a Table, row: &'a R) -> Self {
        let id = row
            .opt_text("id")
            .ok()
            .flatten()
            .unwrap_or_else(|| "(unknown id)".to_owned());
        RowReader { table, row, id }
    }

    /// A text column parsed with `FromStr` (closed sets stored as text: log levels, AI call types).
    pub fn parsed<T: std::str::FromStr<Err = String>>(
        &self,
        column: &'static str,
    ) -> Result<T, StoreError> {
        self.text(column)?
            .parse()
            .map_err(|message: String| self.error(column, message))
    }

    fn error(&self, column: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::CorruptRow {
            table: self.table.name,
            row_id: self.id.clone(),
            column,
            message: message.into(),
        }
    }

    fn required<T>(&self, column: &'static str, value: Option<T>) -> Result<T, StoreError> {
        value.ok_or_else(|| self.error(column, "unexpected NULL"))
    }

    pub fn opt_text(&self, column: &'static str) -> Result<Option<String>, StoreError> {
        self.row
            .opt_text(column)
            .map_err(|e| self.error(column, describe(e)))
    }

    pub fn text(&self, column: &'static str) -> Result<String, StoreError> {
        let value = self.opt_text(column)?;
        self.required(column, value)
    }

    pub fn opt_int(&self, column: &'static str) -> Result<Option<i32>, StoreError> {
        match self
            .row
            .opt_int(column)
            .map_err(|e| self.error(column, describe(e)))?
        {
            None => Ok(None),
            Some(n) => i32::try_from(n)
                .map(Some)
                .map_err(|_| self.error(column, format!("{n} does not fit a 32-bit Int"))),
        }
    }

    pub fn int(&self, column: &'static str) -> Result<i32, StoreError> {
        let value = self.opt_int(column)?;
        self.required(column, value)
    }

    pub fn float(&self, column: &'static str) -> Result<f64, StoreError> {
        let value = self
            .row
            .opt_float(column)
            .map_err(|e| self.error(column, describe(e)))?;
        self.required(column, value)
    }

    pub fn opt_ts(&self, column: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.row
            .opt_ts(column)
            .map_err(|e| self.error(column, describe(e)))
    }

    pub fn ts(&self, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        let value = self.opt_ts(column)?;
        self.required(column, value)
    }

    pub fn opt_json(&self, column: &'static str) -> Result<Option<Value>, StoreError> {
        self.row
            .opt_json(column)
            .map_err(|e| self.error(column, describe(e)))
    }

    pub fn json(&self, column: &'static str) -> Result<Value, StoreError> {
        let value = self.opt_json(column)?;
        self.required(column, value)
    }

    pub fn status(&self, column: &'static str) -> Result<Status, StoreError> {
        let value = self
            .row
            .opt_status(column)
            .map_err(|e| self.error(column, describe(e)))?;
        self.required(column, value)
    }

    /// The row id (for messages).
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A decoded row, for `sqlx::query_as`: decoding errors keep the table, row and column (see
/// [`from_sqlx`]).
pub(crate) struct Decoded<T>(pub T);

/// The store error of a sqlx error, unwrapping a [`StoreError::CorruptRow`] a [`Decoded`] row reported.
pub(crate) fn corrupt_or(error: sqlx::Error) -> Result<StoreError, sqlx::Error> {
    match error {
        sqlx::Error::Decode(source) => match source.downcast::<StoreError>() {
            Ok(store) => Ok(*store),
            Err(source) => Err(sqlx::Error::Decode(source)),
        },
        other => Err(other),
    }
}

macro_rules! decoded_rows {
    ($($record:ty => $decode:path),* $(,)?) => {$(
        #[cfg(feature = "postgres")]
        impl<'r> sqlx::FromRow<'r, PgRow> for Decoded<$record> {
            fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
                $decode(row).map(Decoded).map_err(|e| sqlx::Error::Decode(Box::new(e)))
            }
        }

        #[cfg(feature = "sqlite")]
        impl<'r> sqlx::FromRow<'r, SqliteRow> for Decoded<$record> {
            fn from_row(row: &'r SqliteRow) -> Result<Self, sqlx::Error> {
                $decode(row).map(Decoded).map_err(|e| sqlx::Error::Decode(Box::new(e)))
            }
        }
    )*};
}

decoded_rows!(
    workflow_core::ports::RunRecord => records::run,
    workflow_core::ports::StageRecord => records::stage,
    workflow_core::ports::LogRecord => records::log,
    workflow_core::ports::AnnotationRecord => records::annotation,
    workflow_core::ports::OutboxRecord => records::outbox,
    workflow_core::ports::JobRecord => records::job,
    workflow_core::ports::AiCallRecord => records::ai_call,
);
