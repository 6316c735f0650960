//! [`StoreError`]: the error every storage port (store, blob store, AI call log) reports.

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
        /// The id that was looked up.
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
    /// A value the store cannot hold was refused before anything was written (for example a blob key
    /// outside the layout a database store keeps, or a string with a NUL byte).
    #[error("{what}: {reason}")]
    InvalidValue {
        /// The value, e.g. `blob key "x"`.
        what: String,
        /// Why it cannot be stored.
        reason: String,
    },
    /// The backend failed.
    #[error("{context}: {source}")]
    Backend {
        /// What was being done.
        context: String,
        /// The backend's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
        /// Whether trying again may succeed (a dropped connection, a deadlock, a busy database) rather
        /// than fail the same way (a constraint, a value the database refuses).
        transient: bool,
    },
}

impl StoreError {
    /// Whether the operation may succeed if tried again (see [`StoreError::Backend::transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Backend {
                transient: true,
                ..
            }
        )
    }

    /// Wraps a backend error that trying again may cure (see [`StoreError::Backend`]).
    pub fn transient(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: source.into(),
            transient: true,
        }
    }

    /// Wraps a backend error with what was being done (not transient).
    pub fn backend(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: source.into(),
            transient: false,
        }
    }
}
