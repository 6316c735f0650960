//! Helpers shared by the integration tests of this crate.

#![allow(dead_code)]

use std::sync::Arc;
use workflow_core::kernel::Kernel;
use workflow_core::ports::Store;
use workflow_prisma_compat::testing::{PostgresBackend, SqliteBackend};
use workflow_prisma_compat::{PgStore, SqliteStore};
use workflow_testing::FakeClock;
use workflow_testing::conformance::fixtures;

/// A kernel over `store` with the conformance fixture workflows and a fake clock.
pub fn kernel(store: Arc<dyn Store>, clock: Arc<FakeClock>) -> Kernel {
    Kernel::builder()
        .store(store)
        .clock(clock)
        .registry(fixtures::registry())
        .build()
        .expect("every port is set")
}

/// A fresh SQLite store (the backend keeps its directory alive while it lives).
pub async fn sqlite() -> (SqliteBackend, Arc<SqliteStore>) {
    let backend = SqliteBackend::new();
    let store = Arc::new(backend.store().await);
    (backend, store)
}

/// A fresh PostgreSQL store in its own schema, or `None` when PostgreSQL tests are skipped.
pub async fn postgres(test: &str) -> Option<(PostgresBackend, Arc<PgStore>)> {
    let backend = PostgresBackend::from_env(test)?;
    let store = Arc::new(backend.store().await);
    Some((backend, store))
}
