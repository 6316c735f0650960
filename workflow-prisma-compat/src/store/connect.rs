//! Opening stores: [`open`] picks the database from the URL, connects, and applies the migrations.

use super::{PgStore, SqliteStore};
use crate::migrate::{self, MigrateError};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use workflow_core::ports::{AiCallLog, Store};

/// A store opened from a URL, with its AI call log (the same database).
#[derive(Clone)]
pub struct Opened {
    /// Runs, stages, jobs, events, keys and blobs (give it to `Kernel::builder().store(..)`).
    pub store: Arc<dyn Store>,
    /// The `ai_calls` table (for `workflow_core::ai::AiCallLogger`).
    pub ai_calls: Arc<dyn AiCallLog>,
}

impl Opened {
    fn of<S: Store + AiCallLog>(store: S) -> Self {
        let store = Arc::new(store);
        Opened {
            store: store.clone(),
            ai_calls: store,
        }
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opened({})", self.store.kind())
    }
}

/// How long a SQLite statement waits for another process's write lock before failing (busy); the retry
/// of the engine's writes takes it from there. Within one process writes never wait on each other's locks.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections of a SQLite store.
const SQLITE_READERS: u32 = 4;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error(
        "unsupported database URL {0:?}: use sqlite:<path> (or a plain file path) or postgres://user@host/database"
    )]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot open database {url}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The driver error.
        #[source]
        source: sqlx::Error,
    },
    /// The migrations could not be applied.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
}

/// The URL without the password of its user info.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!(
                "{}{user}{}{}",
                &url[..scheme_end + 3],
                if userinfo.contains(':') { ":***" } else { "" },
                &url[at..]
            )
        }
        _ => url.to_owned(),
    }
}

impl SqliteStore {
    /// Opens (creating it if missing) the SQLite database file at `path` and applies the migrations.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, ConnectError> {
        let path = path.as_ref();
        Self::connect_with(
            SqliteConnectOptions::new().filename(path),
            &path.display().to_string(),
        )
        .await
    }

    /// Opens a `sqlite:` URL (creating the file if missing) and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let options =
            SqliteConnectOptions::from_str(url).map_err(|source| ConnectError::Connect {
                url: url.to_owned(),
                source,
            })?;
        Self::connect_with(options, url).await
    }

    async fn connect_with(
        options: SqliteConnectOptions,
        label: &str,
    ) -> Result<Self, ConnectError> {
        let failed = |source| ConnectError::Connect {
            url: label.to_owned(),
            source,
        };
        let options = options
            .create_if_missing(true)
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
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(options.clone())
            .await
            .map_err(failed)?;
        migrate::apply(&mut *write.acquire().await.map_err(failed)?).await?;
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

impl PgStore {
    /// Connects to a `postgres://` URL and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        let failed = |source| ConnectError::Connect {
            url: redact(url),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(failed)?;
        // One direct connection first: the pool would retry until its acquire timeout (30 s) and then report
        // only "pool timed out", hiding "connection refused" or a wrong database name.
        PgConnection::connect_with(&options)
            .await
            .map_err(failed)?
            .close()
            .await
            .map_err(failed)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_lazy_with(options);
        Self::migrated(pool, url).await
    }

    /// Uses `pool` and applies the migrations.
    pub async fn migrated(pool: PgPool, label: &str) -> Result<Self, ConnectError> {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|source| ConnectError::Connect {
                url: redact(label),
                source,
            })?;
        migrate::apply(&mut *conn).await?;
        drop(conn);
        Ok(PgStore::from_pool(pool))
    }
}

/// Opens the database of `url` (`postgres://…` or `postgresql://…`; `sqlite:…`, or a plain file path for
/// SQLite), applies the migrations, and returns its store.
pub async fn open(url: &str) -> Result<Opened, ConnectError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Opened::of(PgStore::connect(url).await?));
    }
    if url.starts_with("sqlite:") {
        return Ok(Opened::of(SqliteStore::connect(url).await?));
    }
    if url.contains("://") || url.is_empty() {
        return Err(ConnectError::UnsupportedUrl(redact(url)));
    }
    Ok(Opened::of(SqliteStore::open(url).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/wf"),
            "postgres://app:***@db:5432/wf"
        );
        assert_eq!(redact("postgres://app@db/wf"), "postgres://app@db/wf");
        assert_eq!(redact("sqlite:workflows.db"), "sqlite:workflows.db");
    }
}
