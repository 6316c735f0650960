//! The backend conformance suite on SQLite (a fresh database file per scenario).

use workflow_prisma_compat::testing::SqliteBackend;

workflow_testing::conformance_suite!(SqliteBackend::new());
