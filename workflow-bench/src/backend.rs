//! The three backends a scenario can run on, opened fresh for each repetition, and the kernel over them.

use crate::pg;
use crate::workload;
use std::path::PathBuf;
use std::sync::Arc;
use workflow_core::events::TracingEventSink;
use workflow_core::kernel::Kernel;
use workflow_core::ports::{EventSink, Status};
use workflow_prisma_compat::{PgStore, SqliteStore};
use workflow_testing::InMemoryStore;

/// Which database a latency measurement runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A SQLite file (WAL).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Kind {
    /// `memory`, `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }
}

/// An open store.
#[derive(Clone)]
pub enum Store {
    /// In memory.
    Memory(Arc<InMemoryStore>),
    /// A SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL database.
    Postgres(Arc<PgStore>),
}

impl Store {
    /// A new in-memory store.
    pub fn memory() -> Store {
        Store::Memory(Arc::new(InMemoryStore::new()))
    }

    /// A new SQLite file at `path` (created and migrated).
    pub async fn sqlite(path: &PathBuf) -> Result<Store, String> {
        SqliteStore::open(path)
            .await
            .map(|store| Store::Sqlite(Arc::new(store)))
            .map_err(|e| e.to_string())
    }

    /// The PostgreSQL database at `url` (migrated if needed; its rows are kept).
    pub async fn postgres(url: &str) -> Result<Store, String> {
        let store = PgStore::connect(url).await.map_err(|e| e.to_string())?;
        Ok(Store::Postgres(Arc::new(store)))
    }

    /// The PostgreSQL database at `url`, migrated and emptied.
    pub async fn empty_postgres(url: &str) -> Result<Store, String> {
        let store = Self::postgres(url).await?;
        pg::truncate(url).await?;
        Ok(store)
    }

    /// The store port.
    pub fn port(&self) -> Arc<dyn workflow_core::ports::Store> {
        match self {
            Store::Memory(store) => store.clone(),
            Store::Sqlite(store) => store.clone(),
            Store::Postgres(store) => store.clone(),
        }
    }

    /// A kernel over this store with every benchmark workflow, delivering events to `sink` (the default
    /// logs them at `info`, which the benchmark does not print).
    pub fn kernel(&self, sink: Option<Arc<dyn EventSink>>) -> Kernel {
        Kernel::builder()
            .store(self.port())
            .event_sink(sink.unwrap_or_else(|| Arc::new(TracingEventSink)))
            .registry(workload::registry())
            .build()
            .expect("every port is set")
    }

    /// Runs with status `COMPLETED`.
    pub async fn completed_runs(&self) -> Result<u64, String> {
        let count = match self {
            Store::Memory(store) => store
                .runs()
                .await
                .iter()
                .filter(|run| run.status == Status::Completed)
                .count() as i64,
            Store::Sqlite(store) => {
                sqlx::query_scalar("SELECT count(*) FROM \"workflow_runs\" WHERE \"status\" = $1")
                    .bind("COMPLETED")
                    .fetch_one(store.pool())
                    .await
                    .map_err(|e| e.to_string())?
            }
            Store::Postgres(store) => {
                pg::completed_runs(&mut *store.pool().acquire().await.map_err(|e| e.to_string())?)
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        Ok(count.max(0) as u64)
    }

    /// Closes the store's connections, waiting at most 5 s for those still in use (a stalled engine may
    /// never return them).
    pub async fn close(&self) {
        let closing = async {
            match self {
                Store::Memory(_) => {}
                Store::Sqlite(store) => store.pool().close().await,
                Store::Postgres(store) => store.pool().close().await,
            }
        };
        if tokio::time::timeout(std::time::Duration::from_secs(5), closing)
            .await
            .is_err()
        {
            tracing::warn!("the store's connections were not returned within 5 s; leaving them");
        }
    }
}
