//! Persistence for the typed workflow engine on PostgreSQL and SQLite, over the database schema of the
//! TypeScript engine `@bratsos/workflow-engine` (its Prisma schema and migrations, byte for byte). A Rust
//! worker and a TypeScript app can share one database.
//!
//! - [`PgStore`] and [`SqliteStore`] implement the store port (runs, stages, jobs, logs, annotations, the
//!   outbox, idempotency keys, and blobs in `workflow_artifacts`) and the AI call log. On PostgreSQL the
//!   stage hot path is a few statements (data-modifying CTEs); on SQLite writes go through one writer.
//!   Values are written as Prisma Client writes them: cuid ids, client-side `createdAt`/`updatedAt`,
//!   millisecond UTC timestamps (`TIMESTAMP(3)`; on SQLite the text `YYYY-MM-DDTHH:MM:SS.sss+00:00`), JSON
//!   as `JSONB` or text, the `"Status"` enum.
//! - [`migrate`] applies the migrations and records them in `_prisma_migrations` as Prisma does.
//! - [`open`] picks the database from a URL.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use workflow_core::kernel::Kernel;
//! use workflow_core::ports::Registry;
//!
//! let db = workflow_prisma_compat::open("sqlite:workflows.db").await?;   // created and migrated
//! let kernel = Kernel::builder().store(db.store).registry(Registry::new()).build()?;
//! # let _ = kernel; Ok(()) }
//! ```

#[cfg(not(any(feature = "postgres", feature = "sqlite")))]
compile_error!(
    "workflow-prisma-compat needs at least one of its features `postgres` and `sqlite` (both are default features)"
);

mod codec;
mod exec;
pub mod migrate;
mod sql;
mod store;
mod tables;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "postgres")]
pub use store::PgStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{
    ConnectError, EventWakeups, Migrations, Opened, SqlStore, migration_status, open, open_with,
};

/// The URL without the password of its user info (for messages).
pub fn store_url(url: &str) -> String {
    store::redact(url)
}
