//! [`SqlStore`]: persistence, job transport and database-backed blob store over one sqlx pool;
//! [`PgStore`] and [`SqliteStore`] are its two instances.

mod blobs;
mod connect;
mod jobs;
mod session;

pub(crate) use connect::redact;
pub use connect::{ConnectError, open};
pub use session::SqlSession;

use crate::sql::SqlConn;
use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, Postgres, Sqlite};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use workflow_core::ports::{Persistence, Session, StoreError};

/// What differs between the two databases at the store level. Sealed: implemented for `Postgres` and
/// `Sqlite`.
#[doc(hidden)]
pub trait Flavor: Database + private::Sealed
where
    Self::Connection: SqlConn,
{
    /// The statement that opens a transaction, when not plain `BEGIN` (SQLite takes the write lock at once).
    const BEGIN: Option<&'static str>;

    /// Starts waking `notify` when another process enqueues jobs (PostgreSQL `LISTEN`) and returns the
    /// task to stop with the store; `None` where only this process writes.
    fn spawn_listener(pool: &Pool<Self>, notify: Arc<Notify>) -> Option<AbortHandle> {
        let _ = (pool, notify);
        None
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for sqlx::Postgres {}
    impl Sealed for sqlx::Sqlite {}
}

impl Flavor for Postgres {
    const BEGIN: Option<&'static str> = None;

    fn spawn_listener(pool: &Pool<Self>, notify: Arc<Notify>) -> Option<AbortHandle> {
        Some(tokio::spawn(connect::listen_for_jobs(pool.clone(), notify)).abort_handle())
    }
}

impl Flavor for Sqlite {
    // A deferred transaction that reads first and writes later can fail with SQLITE_BUSY when another
    // writer came in between; IMMEDIATE makes a transaction the single writer from its start.
    const BEGIN: Option<&'static str> = Some("BEGIN IMMEDIATE");
}

/// A store over a sqlx pool of `DB`.
pub struct SqlStore<DB: Flavor>
where
    DB::Connection: SqlConn,
{
    pool: Pool<DB>,
    job_added: Arc<Notify>,
    /// The job listener, started by the first wait for jobs.
    listener: OnceLock<Option<AbortHandle>>,
}

impl<DB: Flavor> Drop for SqlStore<DB>
where
    DB::Connection: SqlConn,
{
    fn drop(&mut self) {
        // The listener holds a pooled connection and reconnects forever; it lives as long as the store.
        if let Some(Some(listener)) = self.listener.get() {
            listener.abort();
        }
    }
}

/// The PostgreSQL store (many workers, many machines).
pub type PgStore = SqlStore<Postgres>;
/// The SQLite store (the embedded default: everything in one file).
pub type SqliteStore = SqlStore<Sqlite>;

impl<DB: Flavor> SqlStore<DB>
where
    DB::Connection: SqlConn,
{
    /// A store over an existing pool (whose database is already migrated).
    pub fn from_pool(pool: Pool<DB>) -> Self {
        SqlStore {
            pool,
            job_added: Arc::new(Notify::new()),
            listener: OnceLock::new(),
        }
    }

    /// The pool.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    async fn connection(&self) -> Result<PoolConnection<DB>, StoreError> {
        self.pool
            .acquire()
            .await
            .map_err(crate::sql::backend("acquire a connection"))
    }

    fn wake(&self) {
        self.job_added.notify_waiters();
        self.job_added.notify_one();
    }
}

impl<DB: Flavor> std::fmt::Debug for SqlStore<DB>
where
    DB::Connection: SqlConn,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("database", &DB::NAME)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<DB: Flavor> Persistence for SqlStore<DB>
where
    DB::Connection: SqlConn,
{
    async fn begin(&self) -> Result<Box<dyn Session>, StoreError> {
        let tx = match DB::BEGIN {
            Some(statement) => self.pool.begin_with(statement).await,
            None => self.pool.begin().await,
        }
        .map_err(crate::sql::backend("begin a transaction"))?;
        Ok(Box::new(SqlSession::<DB>::transaction(tx)))
    }

    async fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(SqlSession::<DB>::autocommit(
            self.connection().await?,
        )))
    }
}
