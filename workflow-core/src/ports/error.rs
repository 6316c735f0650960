//! [`StoreError`]: the error every storage port (persistence, job transport, blob store) reports.

use std::error::Error as StdError;

/// A failure of a storage port.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An optimistic-concurrency write lost: the row's `version` changed since it was read.
    #[error("Stale version on {entity} {id}: expected {expected}, got {actual}")]
    StaleVersion {
        /// `WorkflowRun` or `WorkflowStage`.
        entity: &'static str,
        /// Row id.
        id: String,
        /// The version the writer read.
        expected: i64,
        /// The version found (or `-1` if the row is gone).
        actual: i64,
    },
    /// A row that must exist does not.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What was looked up.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// A stored value cannot be read back (unknown status, malformed JSON, bad timestamp).
    #[error("table {table}, row {row_id}, column {column}: {message}")]
    CorruptRow {
        /// Table name (`workflow_runs`, ...).
        table: &'static str,
        /// The row's `id`.
        row_id: String,
        /// Column name.
        column: &'static str,
        /// What is wrong with the value.
        message: String,
    },
    /// A write by a worker that no longer holds the job's lease was refused.
    #[error("fenced: {0}")]
    Fenced(String),
    /// The configuration of the ports is inconsistent (for example a job transport used with another
    /// store's transaction).
    #[error("misconfigured: {0}")]
    Misconfigured(String),
    /// The database, file system or network failed.
    #[error("{context}: {source}")]
    Backend {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl StoreError {
    /// Wraps a backend error with what was being done.
    pub fn backend(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: source.into(),
        }
    }
}
