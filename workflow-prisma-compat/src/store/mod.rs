//! [`SqlStore`]: the [`Store`] port over sqlx pools, and its two instances [`PgStore`] and [`SqliteStore`].
//!
//! On PostgreSQL one pool serves every connection; workers of other processes are woken with
//! `LISTEN`/`NOTIFY`. On SQLite every write goes through one writer connection (a pool of one, which
//! hands it out in order), so no concurrency setting can make two of the engine's own transactions wait on
//! each other's locks; reads use a pool of their own (WAL readers never block the writer).

mod connect;
mod event_wakeups;
#[cfg(feature = "postgres")]
mod listen;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "postgres")]
mod wake;

pub(crate) use connect::redact;
pub use connect::{ConnectError, Migrations, Opened, migration_status, open, open_with};
pub use event_wakeups::EventWakeups;

use crate::exec::SqlExecutor;
use async_trait::async_trait;
use sqlx::{Database, Pool};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use workflow_core::ai::AiUsage;
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
    #[cfg(feature = "postgres")]
    /// How topic prefixes are matched in `ai_calls` (decided by the collation, once).
    topic_match: tokio::sync::OnceCell<crate::sql::statements::TopicMatch>,
    #[cfg(feature = "postgres")]
    /// Coalesced `NOTIFY`s to workers of other processes (PostgreSQL).
    remote: Option<Arc<wake::RemoteWake>>,
}

/// The PostgreSQL store (many workers, many machines; feature `postgres`).
#[cfg(feature = "postgres")]
pub type PgStore = SqlStore<sqlx::Postgres>;
/// The SQLite store (the embedded default: everything in one file; feature `sqlite`).
#[cfg(feature = "sqlite")]
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

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
            #[cfg(feature = "postgres")]
            topic_match: tokio::sync::OnceCell::new(),
            #[cfg(feature = "postgres")]
            remote: None,
        }
    }

    /// The pool writes go through (on SQLite the single writer connection; on PostgreSQL the only pool).
    /// Statements run on it directly are outside the engine's transactions.
    pub fn pool(&self) -> &Pool<DB> {
        &self.write
    }

    /// An executor outside any transaction: reads on the read pool, writes on the write pool.
    pub(crate) fn autocommit(&self) -> SqlExecutor<DB> {
        SqlExecutor::autocommit(self.read.clone(), self.write.clone())
    }

    /// The pool autocommit reads use (the same pool on PostgreSQL).
    pub fn read_pool(&self) -> &Pool<DB> {
        &self.read
    }
}

macro_rules! ai_call_log {
    ($store:ty) => {
        #[async_trait]
        impl AiCallLog for $store {
            async fn log_ai_call(&self, call: AiCallRecord) -> Result<String, StoreError> {
                self.autocommit().op_log_ai_call(call).await
            }

            async fn ai_calls_by_topic(
                &self,
                topic_prefix: &str,
            ) -> Result<Vec<AiCallRecord>, StoreError> {
                let matching = self.topic_match().await?;
                self.autocommit()
                    .op_ai_calls_by_topic(topic_prefix, matching)
                    .await
            }

            async fn ai_usage_by_topic(&self, topic_prefix: &str) -> Result<AiUsage, StoreError> {
                let matching = self.topic_match().await?;
                self.autocommit()
                    .op_ai_usage_by_topic(topic_prefix, matching)
                    .await
            }
        }
    };
}

#[cfg(feature = "postgres")]
ai_call_log!(PgStore);
#[cfg(feature = "sqlite")]
ai_call_log!(SqliteStore);
