//! Persistence for the typed workflow engine on PostgreSQL and SQLite, over the database schema of the
//! TypeScript engine `@bratsos/workflow-engine` (its Prisma schema and migrations, byte for byte). A Rust
//! worker and a TypeScript app can share one database.
//!
//! - [`PgStore`] and [`SqliteStore`] implement the persistence, job transport and blob store ports.
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
//! let storage = workflow_prisma_compat::open("sqlite:workflows.db").await?;   // created and migrated
//! let kernel = Kernel::builder().storage(storage).registry(Registry::new()).build()?;
//! # let _ = kernel; Ok(()) }
//! ```

pub mod migrate;
mod ops;
mod sql;
mod store;
mod tables;
#[cfg(feature = "testing")]
pub mod testing;

pub use sql::{Dialect, SqlConn};
pub use store::{ConnectError, Flavor, PgStore, SqlSession, SqlStore, SqliteStore, open};

/// The URL without the password of its user info (for messages).
pub fn store_url(url: &str) -> String {
    store::redact(url)
}
