//! Opening stores: [`open`] picks the database from the URL, connects, and applies the migrations.

use super::{PgStore, SqlStore, SqliteStore};
use crate::migrate::{self, MigrateError};
use crate::ops::jobs::JOBS_CHANNEL;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use workflow_core::ports::StoragePorts;

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
        let options = options
            .create_if_missing(true)
            // Prisma's driver enables foreign keys on every connection; cascades depend on it.
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| ConnectError::Connect {
                url: label.to_owned(),
                source,
            })?;
        migrate::apply(
            &mut *pool
                .acquire()
                .await
                .map_err(|source| ConnectError::Connect {
                    url: label.to_owned(),
                    source,
                })?,
        )
        .await?;
        Ok(SqlStore::from_pool(pool))
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
        Ok(SqlStore::from_pool(pool))
    }
}

/// Opens the database of `url` (`postgres://…` or `postgresql://…`; `sqlite:…`, or a plain file path for
/// SQLite), applies the migrations, and returns its ports.
pub async fn open(url: &str) -> Result<StoragePorts, ConnectError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(StoragePorts::from_store(Arc::new(
            PgStore::connect(url).await?,
        )));
    }
    if url.starts_with("sqlite:") {
        return Ok(StoragePorts::from_store(Arc::new(
            SqliteStore::connect(url).await?,
        )));
    }
    if url.contains("://") || url.is_empty() {
        return Err(ConnectError::UnsupportedUrl(redact(url)));
    }
    Ok(StoragePorts::from_store(Arc::new(
        SqliteStore::open(url).await?,
    )))
}

/// Wakes `notify` on every `NOTIFY workflow_jobs`, reconnecting after errors.
pub(crate) async fn listen_for_jobs(pool: PgPool, notify: Arc<Notify>) {
    loop {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => match listener.listen(JOBS_CHANNEL).await {
                Ok(()) => loop {
                    match listener.recv().await {
                        Ok(_) => {
                            notify.notify_waiters();
                            notify.notify_one();
                        }
                        Err(error) => {
                            tracing::warn!(%error, "job notifications interrupted");
                            break;
                        }
                    }
                },
                Err(error) => tracing::warn!(%error, "cannot LISTEN for jobs"),
            },
            Err(error) => tracing::warn!(%error, "cannot connect the job listener"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
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
