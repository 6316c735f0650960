//! Applying migrations. Each pending migration runs in its own transaction together with its
//! `_prisma_migrations` row (inserted as started, script run, then `finished_at` and
//! `applied_steps_count = 1`), so a failure leaves nothing half applied and the migration simply pending.
//! On PostgreSQL the runner holds Prisma's advisory lock 72707369, so it never runs concurrently with
//! `prisma migrate` or another worker's runner.

use super::{MigrateError, Migration, MigrationReport, MigrationStatus, POSTGRES, SQLITE};
#[cfg(feature = "sqlite")]
use crate::codec::Ts;
use crate::sql::Dialect;
#[cfg(feature = "sqlite")]
use chrono::Utc;
#[cfg(feature = "postgres")]
use sqlx::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::SqliteConnection;

mod sealed {
    pub trait Sealed {}
    #[cfg(feature = "postgres")]
    impl Sealed for sqlx::PgConnection {}
    #[cfg(feature = "sqlite")]
    impl Sealed for sqlx::SqliteConnection {}
}

/// A connection the runner can migrate: a PostgreSQL or SQLite connection (sealed).
#[allow(async_fn_in_trait)]
pub trait MigrationTarget: sealed::Sealed + Send {
    #[doc(hidden)]
    fn dialect(&self) -> Dialect;
    #[doc(hidden)]
    async fn script(&mut self, sql: &str) -> Result<(), sqlx::Error>;
    #[doc(hidden)]
    async fn history_exists(&mut self) -> Result<bool, sqlx::Error>;
    #[doc(hidden)]
    async fn history_rows(&mut self) -> Result<Vec<(String, String, bool, bool)>, sqlx::Error>;
    #[doc(hidden)]
    async fn record_started(&mut self, id: &str, migration: &Migration) -> Result<(), sqlx::Error>;
    #[doc(hidden)]
    async fn record_finished(&mut self, id: &str) -> Result<(), sqlx::Error>;
}

const HISTORY: &str = "SELECT migration_name, checksum, finished_at IS NOT NULL, rolled_back_at IS NOT NULL \
                       FROM _prisma_migrations ORDER BY started_at ASC";

#[cfg(feature = "postgres")]
impl MigrationTarget for PgConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn script(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut *self)
            .await
            .map(drop)
    }

    async fn history_exists(&mut self) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT to_regclass('_prisma_migrations') IS NOT NULL")
            .fetch_one(&mut *self)
            .await
    }

    async fn history_rows(&mut self) -> Result<Vec<(String, String, bool, bool)>, sqlx::Error> {
        sqlx::query_as(HISTORY).fetch_all(&mut *self).await
    }

    async fn record_started(&mut self, id: &str, migration: &Migration) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())")
            .bind(id)
            .bind(migration.checksum())
            .bind(migration.name)
            .execute(&mut *self)
            .await
            .map(drop)
    }

    async fn record_finished(&mut self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *self)
            .await
            .map(drop)
    }
}

#[cfg(feature = "sqlite")]
impl MigrationTarget for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn script(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut *self)
            .await
            .map(drop)
    }

    async fn history_exists(&mut self) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations')",
        )
        .fetch_one(&mut *self)
        .await
    }

    async fn history_rows(&mut self) -> Result<Vec<(String, String, bool, bool)>, sqlx::Error> {
        sqlx::query_as(HISTORY).fetch_all(&mut *self).await
    }

    async fn record_started(&mut self, id: &str, migration: &Migration) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(migration.checksum())
            .bind(migration.name)
            .bind(Ts(workflow_core::time::truncate_ms(Utc::now())))
            .execute(&mut *self)
            .await
            .map(drop)
    }

    async fn record_finished(&mut self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE _prisma_migrations SET finished_at = $2, applied_steps_count = applied_steps_count + 1 WHERE id = $1")
            .bind(id)
            .bind(Ts(workflow_core::time::truncate_ms(Utc::now())))
            .execute(&mut *self)
            .await
            .map(drop)
    }
}

const PRISMA_LOCK: &str = "SELECT pg_advisory_lock(72707369)";
const PRISMA_UNLOCK: &str = "SELECT pg_advisory_unlock(72707369)";

/// `_prisma_migrations` exactly as Prisma's schema engine creates it.
fn create_history(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "CREATE TABLE IF NOT EXISTS _prisma_migrations (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, \
             finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ, \
             started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0)"
        }
        Dialect::Sqlite => {
            "CREATE TABLE IF NOT EXISTS \"_prisma_migrations\" (\n    \"id\"                    TEXT PRIMARY KEY NOT NULL,\n    \
             \"checksum\"              TEXT NOT NULL,\n    \"finished_at\"           DATETIME,\n    \
             \"migration_name\"        TEXT NOT NULL,\n    \"logs\"                  TEXT,\n    \
             \"rolled_back_at\"        DATETIME,\n    \"started_at\"            DATETIME NOT NULL DEFAULT current_timestamp,\n    \
             \"applied_steps_count\"   INTEGER UNSIGNED NOT NULL DEFAULT 0\n)"
        }
    }
}

fn db(step: impl Into<String>) -> impl FnOnce(sqlx::Error) -> MigrateError {
    let step = step.into();
    move |source| MigrateError::Database { step, source }
}

/// One history row: name, checksum, finished, rolled back.
struct History {
    name: String,
    checksum: String,
    finished: bool,
    rolled_back: bool,
}

async fn history<C: MigrationTarget>(conn: &mut C) -> Result<Vec<History>, MigrateError> {
    Ok(conn
        .history_rows()
        .await
        .map_err(db("read _prisma_migrations"))?
        .into_iter()
        .map(|(name, checksum, finished, rolled_back)| History {
            name,
            checksum,
            finished,
            rolled_back,
        })
        .collect())
}

async fn apply_one<C: MigrationTarget>(
    conn: &mut C,
    migration: &Migration,
) -> Result<(), MigrateError> {
    let begin = if conn.dialect() == Dialect::Sqlite {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    conn.script(begin).await.map_err(db("begin"))?;
    let result = async {
        let id = uuid::Uuid::new_v4().to_string();
        conn.record_started(&id, migration)
            .await
            .map_err(db(format!("record {} as started", migration.name)))?;
        conn.script(migration.sql)
            .await
            .map_err(db(format!("apply {}", migration.name)))?;
        conn.record_finished(&id)
            .await
            .map_err(db(format!("record {} as finished", migration.name)))?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => conn.script("COMMIT").await.map_err(db("commit")),
        Err(error) => {
            if let Err(rollback) = conn.script("ROLLBACK").await {
                tracing::error!(%rollback, "rollback of a failed migration failed");
            }
            Err(error)
        }
    }
}

async fn apply_all<C: MigrationTarget>(
    conn: &mut C,
    migrations: &[Migration],
) -> Result<MigrationReport, MigrateError> {
    conn.script(create_history(conn.dialect()))
        .await
        .map_err(db("create _prisma_migrations"))?;
    let recorded = history(conn).await?;
    if let Some(failed) = recorded
        .iter()
        .find(|row| !row.finished && !row.rolled_back)
    {
        return Err(MigrateError::FailedEarlier(failed.name.clone()));
    }
    let mut report = MigrationReport::default();
    for migration in migrations {
        match applied_row(&recorded, migration) {
            Some(row) if row.checksum != migration.checksum() => {
                return Err(MigrateError::ChecksumMismatch {
                    name: migration.name.to_owned(),
                    recorded: row.checksum.clone(),
                    expected: migration.checksum(),
                });
            }
            Some(_) => report.already_applied.push(migration.name.to_owned()),
            None => {
                apply_one(conn, migration).await?;
                tracing::info!(migration = migration.name, "migration applied");
                report.applied.push(migration.name.to_owned());
            }
        }
    }
    for row in recorded
        .iter()
        .filter(|row| !migrations.iter().any(|m| m.name == row.name))
    {
        tracing::debug!(migration = %row.name, "ignoring a migration this engine does not know (another app's)");
    }
    Ok(report)
}

/// The history row that records `migration` as applied (finished, not rolled back).
fn applied_row<'h>(recorded: &'h [History], migration: &Migration) -> Option<&'h History> {
    recorded
        .iter()
        .find(|row| row.name == migration.name && row.finished && !row.rolled_back)
}

/// Where the connection's database stands against the migrations this build carries, without changing
/// anything (a database with no `_prisma_migrations` table has every migration pending).
pub async fn status<C: MigrationTarget>(conn: &mut C) -> Result<MigrationStatus, MigrateError> {
    let migrations = match conn.dialect() {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    };
    let exists = conn
        .history_exists()
        .await
        .map_err(db("look for _prisma_migrations"))?;
    let recorded = if exists {
        history(conn).await?
    } else {
        Vec::new()
    };
    let mut status = MigrationStatus::default();
    for row in recorded
        .iter()
        .filter(|row| !row.finished && !row.rolled_back)
    {
        status.failed.push(row.name.clone());
    }
    for migration in migrations {
        match applied_row(&recorded, migration) {
            Some(row) if row.checksum != migration.checksum() => {
                status.modified.push(migration.name.to_owned())
            }
            Some(_) => status.applied.push(migration.name.to_owned()),
            None => status.pending.push(migration.name.to_owned()),
        }
    }
    Ok(status)
}

/// Applies the pending migrations of the connection's database (a `PgConnection` or a `SqliteConnection`).
pub async fn apply<C: MigrationTarget>(conn: &mut C) -> Result<MigrationReport, MigrateError> {
    match conn.dialect() {
        Dialect::Sqlite => apply_all(conn, SQLITE).await,
        Dialect::Postgres => {
            conn.script(PRISMA_LOCK)
                .await
                .map_err(db("take the migration lock"))?;
            let result = apply_all(conn, POSTGRES).await;
            if let Err(error) = conn.script(PRISMA_UNLOCK).await {
                tracing::warn!(%error, "cannot release the migration lock");
            }
            result
        }
    }
}
