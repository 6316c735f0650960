//! The SQL of the stores: the two dialects' fragments and, in [`statements`], every fixed statement,
//! assembled once per dialect from constant fragments and placeholders (no value is ever formatted into
//! SQL; dynamic statements are built with `sqlx::QueryBuilder`).

pub(crate) mod statements;

pub(crate) use statements::statements;

/// The two supported databases (public only for the sealed `MigrationTarget`; the module is private).
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

    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer instead.
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

/// The channel PostgreSQL workers `LISTEN` on for new jobs.
#[cfg(feature = "postgres")]
pub(crate) const JOBS_CHANNEL: &str = "workflow_jobs";
/// The channel PostgreSQL workers `LISTEN` on for new pending runs.
#[cfg(feature = "postgres")]
pub(crate) const RUNS_CHANNEL: &str = "workflow_runs";
/// The channel event readers `LISTEN` on for newly appended outbox events (workers do not).
#[cfg(feature = "postgres")]
pub(crate) const EVENTS_CHANNEL: &str = "workflow_events";
/// The advisory lock class (first key of the two-key form) a relay holds on a run's outbox while it
/// delivers its events; the single-key form `hashtext(runId)` is the TypeScript engine's lock on a run's
/// outbox sequence. The two key spaces do not overlap.
pub(crate) const RELAY_LOCK_CLASS: i32 = 7_270;
/// The advisory lock (two-key form `(READER_LOCK_CLASS, 0)`, taken shared) an event reader holds while it
/// listens on [`EVENTS_CHANNEL`]; stores notify that channel only while someone holds it.
#[cfg(feature = "postgres")]
pub(crate) const READER_LOCK_CLASS: i32 = 7_271;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_fragments() {
        assert_eq!(Dialect::Postgres.status(3), "CAST($3::text AS \"Status\")");
        assert_eq!(Dialect::Sqlite.status(3), "$3");
        assert_eq!(Dialect::Postgres.skip_locked(), " FOR UPDATE SKIP LOCKED");
        assert_eq!(Dialect::Sqlite.for_update(), "");
    }
}
