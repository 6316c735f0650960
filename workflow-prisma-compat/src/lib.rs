//! Persistence for the typed workflow engine over the database schema of `@bratsos/workflow-engine`
//! (Prisma), on PostgreSQL and SQLite.
//!
//! This crate is a placeholder in the definition-layer milestone: the sqlx adapters and the
//! `_prisma_migrations`-compatible migration runner come with the persistence milestone.
