//! The statements of the stores, written once over [`SqlConn`] for both databases. Each function is one
//! port operation.

pub(crate) mod artifacts;
pub(crate) mod jobs;
pub(crate) mod records;
pub(crate) mod runs;
pub(crate) mod stages;

use crate::sql::{Arg, Cell, SqlConn, backend};
use crate::tables::Table;
use workflow_core::ports::StoreError;

/// Runs a query returning rows of `table`.
pub(crate) async fn fetch(
    conn: &mut dyn SqlConn,
    table: &Table,
    sql: &str,
    args: Vec<Arg>,
    context: &str,
) -> Result<Vec<Vec<Cell>>, StoreError> {
    conn.query(sql, args, &table.kinds())
        .await
        .map_err(backend(context))
}

/// Runs a statement; returns the rows changed.
pub(crate) async fn execute(
    conn: &mut dyn SqlConn,
    sql: &str,
    args: Vec<Arg>,
    context: &str,
) -> Result<u64, StoreError> {
    conn.execute(sql, args).await.map_err(backend(context))
}

/// Runs `UPDATE "<table>" SET <set> WHERE "id" = <id> [AND "version" = <expected>] RETURNING <every column>`
/// and decodes the row. No row changed is `NotFound`, or `StaleVersion` when a version was expected.
pub(crate) async fn update_by_id<T>(
    conn: &mut dyn SqlConn,
    table: &Table,
    entity: &'static str,
    mut set: SetList,
    id: &str,
    expected: Option<i32>,
    decode: fn(&[Cell]) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let dialect = conn.dialect();
    let mut filter = format!("\"id\" = ${}", set.next());
    set.args.push(Arg::text(id));
    if let Some(version) = expected {
        filter.push_str(&format!(" AND \"version\" = ${}", set.next()));
        set.args.push(Arg::Int(Some(version)));
    }
    let sql = format!(
        "UPDATE \"{}\" SET {} WHERE {filter} {}",
        table.name,
        set.sql(),
        table.returning(dialect)
    );
    let context = format!("update {entity} {id}");
    let rows = fetch(conn, table, &sql, set.args, &context).await?;
    match rows.first() {
        Some(cells) => decode(cells),
        None => Err(runs::missing_or_stale(conn, table.name, entity, id, expected).await),
    }
}

/// A `SET` list under construction: `"column" = $n` entries with their arguments.
pub(crate) struct SetList {
    pub sets: Vec<String>,
    pub args: Vec<Arg>,
}

impl SetList {
    /// Starts with `"updatedAt" = $1` (Prisma's `@updatedAt`) and, if `versioned`, `"version" = "version" + 1`.
    pub fn new(now: chrono::DateTime<chrono::Utc>, versioned: bool) -> Self {
        let mut sets = vec!["\"updatedAt\" = $1".to_owned()];
        if versioned {
            sets.push("\"version\" = \"version\" + 1".to_owned());
        }
        SetList {
            sets,
            args: vec![Arg::at(now)],
        }
    }

    /// The next placeholder number.
    pub fn next(&self) -> usize {
        self.args.len() + 1
    }

    /// Adds `"column" = $n` if `value` is `Some`.
    pub fn set(&mut self, column: &str, value: Option<Arg>) {
        if let Some(value) = value {
            let n = self.next();
            self.sets.push(format!("\"{column}\" = ${n}"));
            self.args.push(value);
        }
    }

    /// Adds `"column" = <status placeholder>` if `status` is `Some`.
    pub fn set_status(
        &mut self,
        dialect: crate::sql::Dialect,
        status: Option<workflow_core::ports::Status>,
    ) {
        if let Some(status) = status {
            let placeholder = dialect.status(self.next());
            self.sets.push(format!("\"status\" = {placeholder}"));
            self.args.push(Arg::Status(status));
        }
    }

    /// The joined list.
    pub fn sql(&self) -> String {
        self.sets.join(", ")
    }
}
