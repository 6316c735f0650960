//! The PostgreSQL store: one pool for every connection; workers of other processes are woken with
//! `LISTEN`/`NOTIFY` (coalesced, see `wake.rs`).

use super::connect::{ConnectError, Migrations, prepare, redact};
use super::{PgStore, listen, wake};
use crate::exec::SqlExecutor;
use crate::sql::statements::TopicMatch;
use async_trait::async_trait;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Pool, Postgres};
use std::str::FromStr;
use std::time::Duration;
use workflow_core::ports::{Executor, Signal, Store, StoreError, Tx};

impl PgStore {
    /// Connects to a `postgres://` URL and applies the migrations.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_as(url, Migrations::Apply).await
    }

    pub(crate) async fn connect_as(url: &str, mode: Migrations) -> Result<Self, ConnectError> {
        let failed = |source| match source {
            sqlx::Error::Tls(_) if cfg!(not(feature = "tls-rustls")) => {
                ConnectError::TlsNotCompiledIn { url: redact(url) }
            }
            source => ConnectError::Connect {
                url: redact(url),
                source,
            },
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
        Self::prepared(pool, url, mode).await
    }

    /// Uses `pool` and applies the migrations.
    pub async fn migrated(pool: PgPool, label: &str) -> Result<Self, ConnectError> {
        Self::prepared(pool, label, Migrations::Apply).await
    }

    async fn prepared(pool: PgPool, label: &str, mode: Migrations) -> Result<Self, ConnectError> {
        let mut conn = pool
            .acquire()
            .await
            .map_err(|source| ConnectError::Connect {
                url: redact(label),
                source,
            })?;
        prepare(&mut *conn, mode, label).await?;
        drop(conn);
        Ok(PgStore::from_pool(pool))
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
        Ok(Box::new(self.autocommit()))
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

    fn ai_call_log(
        self: std::sync::Arc<Self>,
    ) -> Option<std::sync::Arc<dyn workflow_core::ports::AiCallLog>> {
        Some(self)
    }
}

/// Whether `ai_calls.topic` sorts by code point in this database: a libc `C`, `POSIX` or `C.UTF-8`
/// collation (for the database, and the column's own is the default or `C`). ICU and language
/// collations order punctuation differently, so a prefix range over the index would miss rows there.
const TOPIC_SORTS_BYTEWISE: &str = "SELECT d.\"datlocprovider\" = 'c' \
     AND (d.\"datcollate\" IN ('C', 'POSIX') OR lower(replace(d.\"datcollate\", '-', '')) = 'c.utf8') \
     AND COALESCE((SELECT a.\"attcollation\" IN (100, 950) FROM pg_attribute a \
                   WHERE a.\"attrelid\" = to_regclass('\"ai_calls\"') AND a.\"attname\" = 'topic'), true) \
     FROM pg_database d WHERE d.\"datname\" = current_database()";

impl PgStore {
    /// How this database matches topic prefixes: by index range where text sorts by code point,
    /// exactly (without the index) otherwise. Asked once per store.
    pub(crate) async fn topic_match(&self) -> Result<TopicMatch, StoreError> {
        let decided = self.topic_match.get_or_try_init(|| async {
            let bytewise = sqlx::query_scalar::<_, bool>(TOPIC_SORTS_BYTEWISE)
                .fetch_one(self.pool())
                .await;
            Ok::<_, StoreError>(match bytewise {
                Ok(true) => TopicMatch::Range,
                Ok(false) => TopicMatch::Exact,
                Err(error) => {
                    tracing::debug!(%error, "cannot read the collation; matching AI topics exactly");
                    TopicMatch::Exact
                }
            })
        });
        decided.await.copied()
    }
}
