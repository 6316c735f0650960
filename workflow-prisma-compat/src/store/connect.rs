//! Opening stores: [`open`] picks the database from the URL, connects, and applies the migrations.

#[cfg(feature = "postgres")]
use super::PgStore;
#[cfg(feature = "sqlite")]
use super::SqliteStore;
use crate::migrate::{MigrateError, MigrationStatus};
use std::sync::Arc;
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
    #[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
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
    /// The URL names a database this build has no driver for (its feature of `workflow-prisma-compat` is
    /// off).
    #[error(
        "cannot open {url}: this build of workflow-prisma-compat has no {database} support; enable its `{feature}` feature"
    )]
    DatabaseNotCompiledIn {
        /// The URL, without its password.
        url: String,
        /// `PostgreSQL` or `SQLite`.
        database: &'static str,
        /// The feature that adds it.
        feature: &'static str,
    },
    /// The URL asks for TLS (`sslmode=require`, `verify-ca`, `verify-full`) and this build has none.
    #[error(
        "cannot open {url}: the connection requires TLS and this build of workflow-prisma-compat has none; enable its `tls-rustls` feature"
    )]
    TlsNotCompiledIn {
        /// The URL, without its password.
        url: String,
    },
    /// The migrations could not be applied.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    /// [`Migrations::Require`] and the database lacks migrations (or has modified or failed ones).
    #[error(
        "database {url} is not migrated (pending: {pending}; modified: {modified}; failed: {failed}): run `wf migrate` first",
        pending = list(&status.pending),
        modified = list(&status.modified),
        failed = list(&status.failed)
    )]
    NotMigrated {
        /// The URL, without its password.
        url: String,
        /// What the migration history says.
        status: MigrationStatus,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// What opening a store does about the schema's migrations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Migrations {
    /// Apply the pending ones (what workers do; [`open`] does it).
    #[default]
    Apply,
    /// Change nothing; refuse a database that lacks one ([`ConnectError::NotMigrated`]), and do not create
    /// a missing SQLite file (what read-only tools do).
    Require,
}

/// Applies or checks the migrations on `conn`, as `mode` says.
pub(crate) async fn prepare<C: crate::migrate::MigrationTarget>(
    conn: &mut C,
    mode: Migrations,
    label: &str,
) -> Result<(), ConnectError> {
    match mode {
        Migrations::Apply => drop(crate::migrate::apply(conn).await?),
        Migrations::Require => {
            let status = crate::migrate::status(conn).await?;
            if !status.is_up_to_date() {
                return Err(ConnectError::NotMigrated {
                    url: redact(label),
                    status,
                });
            }
        }
    }
    Ok(())
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

/// Opens the database of `url` (`postgres://…` or `postgresql://…`; `sqlite:…`, or a plain file path for
/// SQLite), applies the migrations, and returns its store.
pub async fn open(url: &str) -> Result<Opened, ConnectError> {
    open_with(url, Migrations::Apply).await
}

/// Where the database of `url` stands against this build's migrations, changing nothing (a missing SQLite
/// file has every migration pending).
///
/// # Errors
/// The database cannot be reached, or its migration history cannot be read.
pub async fn migration_status(url: &str) -> Result<MigrationStatus, ConnectError> {
    match open_with(url, Migrations::Require).await {
        Ok(opened) => {
            let migrations = match opened.store.kind() {
                "postgres" => crate::migrate::POSTGRES,
                _ => crate::migrate::SQLITE,
            };
            Ok(MigrationStatus {
                applied: migrations.iter().map(|m| m.name.to_owned()).collect(),
                ..MigrationStatus::default()
            })
        }
        Err(ConnectError::NotMigrated { status, .. }) => Ok(status),
        Err(error) => Err(error),
    }
}

/// [`open`], with the choice of applying the migrations or only requiring them.
pub async fn open_with(url: &str, migrations: Migrations) -> Result<Opened, ConnectError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Opened::of(PgStore::connect_as(url, migrations).await?));
        #[cfg(not(feature = "postgres"))]
        return Err(not_compiled_in(url, "PostgreSQL", "postgres"));
    }
    let sqlite_url = url.starts_with("sqlite:");
    if !sqlite_url && (url.contains("://") || url.is_empty()) {
        return Err(ConnectError::UnsupportedUrl(redact(url)));
    }
    #[cfg(feature = "sqlite")]
    if sqlite_url {
        Ok(Opened::of(SqliteStore::connect_as(url, migrations).await?))
    } else {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(url);
        Ok(Opened::of(
            SqliteStore::connect_with(options, url, migrations).await?,
        ))
    }
    #[cfg(not(feature = "sqlite"))]
    Err(not_compiled_in(url, "SQLite", "sqlite"))
}

#[cfg(not(all(feature = "postgres", feature = "sqlite")))]
fn not_compiled_in(url: &str, database: &'static str, feature: &'static str) -> ConnectError {
    ConnectError::DatabaseNotCompiledIn {
        url: redact(url),
        database,
        feature,
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
