//! The tables of the Prisma schema: their columns (in schema order, with storage kinds) and the decoding
//! of rows into the port records. A value that cannot be read is a [`StoreError::CorruptRow`] naming the
//! table, the row id and the column.

mod records;

pub(crate) use records::*;

use crate::sql::{Cell, Dialect, Kind};
use chrono::{DateTime, Utc};
use serde_json::Value;
use workflow_core::ports::{Status, StoreError};

/// A table and its columns.
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl Table {
    /// The select list of every column, in order.
    pub fn select(&self, dialect: Dialect) -> String {
        self.columns
            .iter()
            .map(|(name, kind)| dialect.select_column(name, *kind))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The kinds of the columns, in order.
    pub fn kinds(&self) -> Vec<Kind> {
        self.columns.iter().map(|(_, kind)| *kind).collect()
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

/// Reads the cells of one row by column name.
pub(crate) struct RowReader<'a> {
    table: &'a Table,
    cells: &'a [Cell],
    id: String,
}

impl<'a> RowReader<'a> {
    /// A reader over `cells` (in the table's column order); the first column is the id.
    pub fn new(table: &'a Table, cells: &'a [Cell]) -> Self {
        let id = match cells.first() {
            Some(Cell::Text(id)) => id.clone(),
            _ => "(unknown id)".to_owned(),
        };
        RowReader { table, cells, id }
    }

    fn error(&self, column: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::CorruptRow {
            table: self.table.name,
            row_id: self.id.clone(),
            column,
            message: message.into(),
        }
    }

    fn cell(&self, column: &'static str) -> Result<&'a Cell, StoreError> {
        let index = self
            .table
            .columns
            .iter()
            .position(|(name, _)| *name == column)
            .unwrap_or_else(|| {
                panic!(
                    "column {column} is not declared for table {}",
                    self.table.name
                )
            });
        match &self.cells[index] {
            Cell::Invalid(message) => Err(self.error(column, message.clone())),
            cell => Ok(cell),
        }
    }

    fn kind_mismatch(&self, column: &'static str, expected: &str, cell: &Cell) -> StoreError {
        self.error(column, format!("expected {expected}, found {cell:?}"))
    }

    pub fn opt_text(&self, column: &'static str) -> Result<Option<String>, StoreError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            Cell::Text(text) => Ok(Some(text.clone())),
            other => Err(self.kind_mismatch(column, "text", other)),
        }
    }

    pub fn text(&self, column: &'static str) -> Result<String, StoreError> {
        self.opt_text(column)?
            .ok_or_else(|| self.error(column, "unexpected NULL"))
    }

    pub fn opt_int(&self, column: &'static str) -> Result<Option<i32>, StoreError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            Cell::Int(n) => i32::try_from(*n)
                .map(Some)
                .map_err(|_| self.error(column, format!("{n} does not fit a 32-bit Int"))),
            other => Err(self.kind_mismatch(column, "an integer", other)),
        }
    }

    pub fn int(&self, column: &'static str) -> Result<i32, StoreError> {
        self.opt_int(column)?
            .ok_or_else(|| self.error(column, "unexpected NULL"))
    }

    pub fn float(&self, column: &'static str) -> Result<f64, StoreError> {
        match self.cell(column)? {
            Cell::Float(n) => Ok(*n),
            Cell::Int(n) => Ok(*n as f64),
            other => Err(self.kind_mismatch(column, "a number", other)),
        }
    }

    pub fn opt_timestamp(&self, column: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            Cell::Timestamp(at) => Ok(Some(*at)),
            other => Err(self.kind_mismatch(column, "a timestamp", other)),
        }
    }

    pub fn timestamp(&self, column: &'static str) -> Result<DateTime<Utc>, StoreError> {
        self.opt_timestamp(column)?
            .ok_or_else(|| self.error(column, "unexpected NULL"))
    }

    pub fn opt_json(&self, column: &'static str) -> Result<Option<Value>, StoreError> {
        match self.cell(column)? {
            Cell::Null => Ok(None),
            Cell::Json(value) => Ok(Some(value.clone())),
            other => Err(self.kind_mismatch(column, "JSON", other)),
        }
    }

    pub fn json(&self, column: &'static str) -> Result<Value, StoreError> {
        self.opt_json(column)?
            .ok_or_else(|| self.error(column, "unexpected NULL"))
    }

    pub fn status(&self, column: &'static str) -> Result<Status, StoreError> {
        let text = self.text(column)?;
        Status::parse(&text).ok_or_else(|| self.error(column, format!("unknown status {text:?}")))
    }

    /// The row id (for messages).
    pub fn id(&self) -> &str {
        &self.id
    }
}
