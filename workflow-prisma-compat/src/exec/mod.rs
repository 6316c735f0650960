//! [`SqlExecutor`]: the store's [`Executor`](workflow_core::ports::Executor) on a transaction or on the
//! pools (autocommit), for both databases. The operations are written once (`ops_*` macros expanded for
//! each database, so that every statement runs on sqlx's concrete types) except the composite ones of the
//! hot path, which each database does its own way (`postgres.rs`: one statement each; `sqlite.rs`).

#[macro_use]
mod macros;
mod jobs;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "testing")]
pub(crate) use postgres::claim_sql as postgres_claim_sql;
mod queries;
mod records;
mod runs;
#[cfg(feature = "sqlite")]
mod sqlite;
mod trait_impl;

use crate::tables::corrupt_or;
use sqlx::{Database, Pool, Transaction};
use std::collections::HashSet;
use workflow_core::ids::RunId;
use workflow_core::ports::{ClaimedJob, StoreError, UnreadableJob};

/// Where an executor's statements run.
pub(crate) enum Holder<DB: Database> {
    /// One transaction.
    Tx(Transaction<'static, DB>),
    /// Autocommit: reads on `read`, writes on `write` (the same pool on PostgreSQL; SQLite's single
    /// writer connection and its readers).
    Pools { read: Pool<DB>, write: Pool<DB> },
}

/// A session on a [`SqlStore`](crate::SqlStore).
pub struct SqlExecutor<DB: Database> {
    pub(crate) holder: Holder<DB>,
    /// Runs whose outbox sequence this transaction has locked (PostgreSQL advisory locks).
    pub(crate) locked_runs: HashSet<RunId>,
}

impl<DB: Database> SqlExecutor<DB> {
    pub(crate) fn transaction(tx: Transaction<'static, DB>) -> Self {
        SqlExecutor {
            holder: Holder::Tx(tx),
            locked_runs: HashSet::new(),
        }
    }

    pub(crate) fn autocommit(read: Pool<DB>, write: Pool<DB>) -> Self {
        SqlExecutor {
            holder: Holder::Pools { read, write },
            locked_runs: HashSet::new(),
        }
    }
}

/// Whether a database error may go away when the operation is tried again: a lost or refused connection,
/// a serialization failure or deadlock (PostgreSQL `40001`, `40P01`), an administrator's termination
/// (`57P01`..`57P03`), too many connections (`53300`), a busy or locked SQLite database (`5`, `6`).
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            matches!(
                code.as_ref(),
                "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "53300" | "5" | "6" | "517"
            ) || code.starts_with("08")
        }),
        _ => false,
    }
}

/// The store error of a failed statement, with what was being done.
pub(crate) fn store_error(context: &str, error: sqlx::Error) -> StoreError {
    match corrupt_or(error) {
        Ok(corrupt) => corrupt,
        Err(error) if is_transient(&error) => StoreError::transient(context.to_owned(), error),
        Err(error) => StoreError::backend(context.to_owned(), error),
    }
}

/// A `map_err` for a statement that was doing `context`.
pub(crate) fn failed(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| store_error(context, error)
}

/// The run a blob key belongs to, or why the database store cannot keep it.
pub(crate) fn blob_run(key: &str) -> Result<&str, StoreError> {
    workflow_core::ports::blob_run_id(key).ok_or_else(|| StoreError::InvalidValue {
        what: format!("blob key {key:?}"),
        reason: "the database blob store keeps blobs per run: keys must have the form \
                 workflow-v2/<workflowType>/<runId>/..., built with ctx.storage().stage_key(..)"
            .into(),
    })
}

/// A claimed job that could not be read: the job row's own error (which names its id), or an error
/// of its run or stage row. Other errors are the claim's.
pub(crate) fn unreadable(
    job_id: Option<&str>,
    error: StoreError,
) -> Result<UnreadableJob, StoreError> {
    match (&error, job_id) {
        (StoreError::CorruptRow { .. }, Some(job_id)) => Ok(UnreadableJob {
            job_id: job_id.into(),
            error,
        }),
        (StoreError::CorruptRow { row_id, .. }, None) => Ok(UnreadableJob {
            job_id: row_id.as_str().into(),
            error,
        }),
        _ => Err(error),
    }
}

/// Puts claimed jobs in claim order (highest priority, then oldest), unreadable ones last.
pub(crate) fn order_claimed(claimed: &mut [Result<ClaimedJob, UnreadableJob>]) {
    claimed.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => b
            .job
            .priority
            .cmp(&a.job.priority)
            .then(a.job.created_at.cmp(&b.job.created_at)),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
}
