//! The SQLite store: every write goes through one writer connection (a pool of one, which hands it out in
//! order) in `BEGIN IMMEDIATE` transactions; reads use a pool of their own (WAL readers never block the
//! writer).

use super::SqliteStore;
use super::connect::{ConnectError, Migrations, prepare};
use crate::exec::SqlExecutor;
use crate::sql::statements::TopicMatch;
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use workflow_core::ports::{Executor, Signal, Store, StoreError, Tx};

/// How long a SQLite statement waits for another process's write lock before failing (busy); the retry
/// of the engine's writes takes it from there. Within one process writes never wait on each other's locks.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections of a SQLite store.
const SQLITE_READERS: u32 = 4;

impl SqliteStore {
    /// Opens (creating it if missing) the SQLite database file at `path` and applies the migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, ConnectError> {
        let path = path.as_ref();
        Self::connect_with(
            SqliteConnectOptions::new().filename(path),
            &path.display().to_string(),
            Migrations::Apply,
        )
        .await
    }

    /// Opens a `sqlite:` URL (creating the file if missing) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_as(url, Migrations::Apply).await
    }

    pub(crate) async fn connect_as(url: &str, mode: Migrations) -> Result<Self, ConnectError> {
        let options =
            SqliteConnectOptions::from_str(url).map_err(|source| ConnectError::Connect {
                url: url.to_owned(),
                source,
            })?;
        Self::connect_with(options, url, mode).await
    }

    pub(crate) async fn connect_with(
        options: SqliteConnectOptions,
        label: &str,
        mode: Migrations,
    ) -> Result<Self, ConnectError> {
        let failed = |source| ConnectError::Connect {
            url: label.to_owned(),
            source,
        };
        let options = options
            .create_if_missing(mode == Migrations::Apply)
            // Prisma's driver enables foreign keys on every connection; cascades depend on it.
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        let in_memory = options.get_filename().as_os_str().is_empty()
            || options
                .get_filename()
                .to_string_lossy()
                .contains(":memory:");
        if mode == Migrations::Require && !in_memory && !options.get_filename().exists() {
            let status = crate::migrate::MigrationStatus {
                pending: crate::migrate::SQLITE
                    .iter()
                    .map(|m| m.name.to_owned())
                    .collect(),
                ..Default::default()
            };
            return Err(ConnectError::NotMigrated {
                url: label.to_owned(),
                status,
            });
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await
            .map_err(failed)?;
        prepare(&mut *write.acquire().await.map_err(failed)?, mode, label).await?;
        let read = if in_memory {
            // Another connection would open another, empty, database.
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(SQLITE_READERS)
                .connect_with(options.create_if_missing(false))
                .await
                .map_err(failed)?
        };
        Ok(SqliteStore::from_pools(read, write))
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
        Ok(Box::new(self.autocommit()))
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

    fn ai_call_log(
        self: std::sync::Arc<Self>,
    ) -> Option<std::sync::Arc<dyn workflow_core::ports::AiCallLog>> {
        Some(self)
    }
}

impl SqliteStore {
    /// SQLite compares text with `BINARY` (code point order in UTF-8), so a prefix is an index range.
    pub(crate) async fn topic_match(&self) -> Result<TopicMatch, StoreError> {
        Ok(TopicMatch::Range)
    }
}
