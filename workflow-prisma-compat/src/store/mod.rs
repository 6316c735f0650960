//! [`SqlStore`]: the [`Store`] port over sqlx pools, and its two instances [`PgStore`] and [`SqliteStore`].
//!
//! On PostgreSQL one pool serves every connection; workers of other processes are woken with
//! `LISTEN`/`NOTIFY`. On SQLite every write goes through one writer connection (a pool of one, which
//! hands it out in order), so no concurrency setting can make two of the engine's own transactions wait on
//! each other's locks; reads use a pool of their own (WAL readers never block the writer).

mod connect;
mod listen;
mod wake;

pub(crate) use connect::redact;
pub use connect::{ConnectError, Opened, open};

use crate::exec::SqlExecutor;
use async_trait::async_trait;
use sqlx::{Database, Pool, Postgres, Sqlite};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use workflow_core::ports::*;

/// In-process wake-ups, one per signal.
pub(crate) struct Signals(HashMap<Signal, Notify>);

impl Signals {
    fn new() -> Self {
        Signals(
            [
                Signal::Jobs,
                Signal::Runs,
                Signal::Suspended,
                Signal::Events,
            ]
            .into_iter()
            .map(|signal| (signal, Notify::new()))
            .collect(),
        )
    }

    pub(crate) fn notify(&self, signal: Signal) {
        let notify = &self.0[&signal];
        notify.notify_waiters();
        // A waiter between a look at the store and its wait would miss `notify_waiters`; a stored permit
        // wakes it.
        notify.notify_one();
    }

    async fn wait(&self, signal: Signal, max_wait: Duration) {
        let _ = tokio::time::timeout(max_wait, self.0[&signal].notified()).await;
    }
}

/// A store over sqlx pools of `DB`.
pub struct SqlStore<DB: Database> {
    read: Pool<DB>,
    write: Pool<DB>,
    signals: Arc<Signals>,
    /// The PostgreSQL listener, started by the first wait.
    listener: OnceLock<Option<AbortHandle>>,
    /// Coalesced `NOTIFY`s to workers of other processes (PostgreSQL).
    remote: Option<Arc<wake::RemoteWake>>,
}

/// The PostgreSQL store (many workers, many machines).
pub type PgStore = SqlStore<Postgres>;
/// The SQLite store (the embedded default: everything in one file).
pub type SqliteStore = SqlStore<Sqlite>;

impl<DB: Database> Drop for SqlStore<DB> {
    fn drop(&mut self) {
        if let Some(Some(listener)) = self.listener.get() {
            listener.abort();
        }
    }
}

impl<DB: Database> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("database", &DB::NAME)
            .finish_non_exhaustive()
    }
}

impl<DB: Database> SqlStore<DB> {
    fn with_pools(read: Pool<DB>, write: Pool<DB>) -> Self {
        SqlStore {
            read,
            write,
            signals: Arc::new(Signals::new()),
            listener: OnceLock::new(),
            remote: None,
        }
    }

    /// The pool writes go through (on SQLite the single writer connection; on PostgreSQL the only pool).
    /// Statements run on it directly are outside the engine's transactions.
    pub fn pool(&self) -> &Pool<DB> {
        &self.write
    }

    /// The pool autocommit reads use (the same pool on PostgreSQL).
    pub fn read_pool(&self) -> &Pool<DB> {
        &self.read
    }
}

impl PgStore {
    /// A store over an existing pool (whose database is already migrated).
    pub fn from_pool(pool: Pool<Postgres>) -> Self {
        let mut store = Self::with_pools(pool.clone(), pool.clone());
        store.remote = Some(wake::RemoteWake::new(pool));
        store
    }
}

impl SqliteStore {
    /// A store over a writer pool (at most one connection) and a reader pool of the same, already
    /// migrated, database file.
    pub fn from_pools(read: Pool<Sqlite>, write: Pool<Sqlite>) -> Self {
        Self::with_pools(read, write)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        let tx = self
            .write
            .begin()
            .await
            .map_err(crate::exec::failed("begin a transaction"))?;
        Ok(Box::new(SqlExecutor::transaction(tx)))
    }

    async fn executor(&self) -> Result<Box<dyn Executor>, StoreError> {
        Ok(Box::new(SqlExecutor::autocommit(
            self.read.clone(),
            self.write.clone(),
        )))
    }

    async fn wait(&self, signal: Signal, max_wait: Duration) {
        self.listener.get_or_init(|| {
            let own = self.remote.as_ref().map(|r| r.instance.clone());
            Some(listen::spawn(self.write.clone(), self.signals.clone(), own))
        });
        self.signals.wait(signal, max_wait).await;
    }

    fn notify(&self, signal: Signal) {
        self.signals.notify(signal);
        if let Some(remote) = &self.remote {
            remote.request(signal);
        }
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        // The writer is a pool of one: waiting for it is waiting in line, never a busy loop. IMMEDIATE
        // takes the database's write lock at once, against writers of other processes.
        let tx = self
            .write
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(crate::exec::failed("begin a transaction"))?;
        Ok(Box::new(SqlExecutor::transaction(tx)))
    }

    async fn executor(&self) -> Result<Box<dyn Executor>, StoreError> {
        Ok(Box::new(SqlExecutor::autocommit(
            self.read.clone(),
            self.write.clone(),
        )))
    }

    async fn wait(&self, signal: Signal, max_wait: Duration) {
        self.signals.wait(signal, max_wait).await;
    }

    fn notify(&self, signal: Signal) {
        self.signals.notify(signal);
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}

macro_rules! ai_call_log {
    ($store:ty) => {
        #[async_trait]
        impl AiCallLog for $store {
            async fn log_ai_call(&self, call: AiCallRecord) -> Result<String, StoreError> {
                SqlExecutor::autocommit(self.read.clone(), self.write.clone())
                    .op_log_ai_call(call)
                    .await
            }

            async fn ai_calls_by_topic(
                &self,
                topic_prefix: &str,
            ) -> Result<Vec<AiCallRecord>, StoreError> {
                SqlExecutor::autocommit(self.read.clone(), self.write.clone())
                    .op_ai_calls_by_topic(topic_prefix)
                    .await
            }
        }
    };
}

ai_call_log!(PgStore);
ai_call_log!(SqliteStore);
