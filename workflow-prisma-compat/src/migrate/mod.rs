//! The Prisma migrations of the engine's schema (the files of `migrations/`, byte for byte) and a runner
//! that records them in `_prisma_migrations` as Prisma's schema engine does, so `prisma migrate status`
//! agrees and a database migrated by Prisma is accepted as it is.

mod runner;

pub use runner::{MigrationTarget, apply, status};

use sha2::{Digest, Sha256};

/// One migration folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// The folder name (`20261121224731_init`), which Prisma matches history rows by.
    pub name: &'static str,
    /// The bytes of its `migration.sql`.
    pub sql: &'static str,
}

impl Migration {
    /// The lowercase hex sha256 of `migration.sql`, Prisma's checksum.
    pub fn checksum(&self) -> String {
        checksum(self.sql)
    }
}

/// Lowercase hex sha256.
pub fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The PostgreSQL migrations, in order.
pub const POSTGRES: &[Migration] = &[Migration {
    name: "20261121224731_init",
    sql: include_str!("../../../migrations/postgresql/20261121224731_init/migration.sql"),
}];

/// The SQLite migrations, in order.
pub const SQLITE: &[Migration] = &[Migration {
    name: "20261121224737_init",
    sql: include_str!("../../../migrations/sqlite/20261121224737_init/migration.sql"),
}];

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MigrationReport {
    /// Migrations applied now.
    pub applied: Vec<String>,
    /// Migrations that were already applied (by this runner or by Prisma).
    pub already_applied: Vec<String>,
}

/// What [`status`] found: every migration of this build is in exactly one of `applied`, `pending` and
/// `modified`; `failed` lists history rows left unfinished by an earlier attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MigrationStatus {
    /// Applied, with the checksum of this build's file.
    pub applied: Vec<String>,
    /// Not applied yet.
    pub pending: Vec<String>,
    /// Applied with another checksum (the file changed after it was applied).
    pub modified: Vec<String>,
    /// Started and neither finished nor rolled back (Prisma's P3009).
    pub failed: Vec<String>,
}

impl MigrationStatus {
    /// Whether the database has every migration, unchanged, and no failed one.
    pub fn is_up_to_date(&self) -> bool {
        self.pending.is_empty() && self.modified.is_empty() && self.failed.is_empty()
    }
}

/// Why migrating failed. Nothing of a failed migration is left applied.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A migration is recorded as started but neither finished nor rolled back (Prisma's P3009).
    #[error(
        "migration {0} failed in an earlier attempt and is recorded as unfinished in _prisma_migrations; \
         inspect the database, then mark it with `prisma migrate resolve --applied {0}` or `--rolled-back {0}`"
    )]
    FailedEarlier(String),
    /// An applied migration's checksum differs from the file this build carries.
    #[error(
        "migration {name} was applied with checksum {recorded}, but this build's migration.sql has checksum {expected}"
    )]
    ChecksumMismatch {
        /// The migration.
        name: String,
        /// The checksum in `_prisma_migrations`.
        recorded: String,
        /// The checksum of the embedded file.
        expected: String,
    },
    /// A statement failed.
    #[error("migration step failed ({step}): {source}")]
    Database {
        /// What was being done.
        step: String,
        /// The driver error.
        #[source]
        source: sqlx::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_the_reference_files() {
        // The sha256 sums stated in shared/prisma/README.md.
        assert_eq!(
            POSTGRES[0].checksum(),
            "27656d246170e61e6ff853b24bf64165236c4076e67e50983d1e1c2d78233321"
        );
        assert_eq!(
            SQLITE[0].checksum(),
            "5a10474cc66d325204cf441afafe4776da1503db908f7e67341731a4ed91e0d0"
        );
    }
}
