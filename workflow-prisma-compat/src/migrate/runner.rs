//! Applying migrations. Each pending migration runs in its own transaction together with its
//! `_prisma_migrations` row (inserted as started, script run, then `finished_at` and
//! `applied_steps_count = 1`), so a failure leaves nothing half applied and the migration simply pending.
//! On PostgreSQL the runner holds Prisma's advisory lock 72707369, so it never runs concurrently with
//! `prisma migrate` or another worker's runner.

use super::{MigrateError, Migration, MigrationReport, POSTGRES, SQLITE};
use crate::sql::{Arg, Cell, Dialect, Kind, SqlConn};
use chrono::Utc;

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

async fn history(conn: &mut dyn SqlConn) -> Result<Vec<History>, MigrateError> {
    let sql = "SELECT migration_name, checksum, CASE WHEN finished_at IS NULL THEN 0 ELSE 1 END, \
               CASE WHEN rolled_back_at IS NULL THEN 0 ELSE 1 END FROM _prisma_migrations ORDER BY started_at ASC";
    let rows = conn
        .query(
            sql,
            Vec::new(),
            &[Kind::Text, Kind::Text, Kind::Int, Kind::Int],
        )
        .await
        .map_err(db("read _prisma_migrations"))?;
    Ok(rows
        .into_iter()
        .filter_map(|cells| match cells.as_slice() {
            [
                Cell::Text(name),
                Cell::Text(checksum),
                Cell::Int(finished),
                Cell::Int(rolled_back),
            ] => Some(History {
                name: name.clone(),
                checksum: checksum.clone(),
                finished: *finished == 1,
                rolled_back: *rolled_back == 1,
            }),
            _ => None,
        })
        .collect())
}

async fn apply_one(conn: &mut dyn SqlConn, migration: &Migration) -> Result<(), MigrateError> {
    let dialect = conn.dialect();
    let begin = if dialect == Dialect::Sqlite {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN"
    };
    conn.execute_script(begin).await.map_err(db("begin"))?;
    let result = async {
        let id = uuid::Uuid::new_v4().to_string();
        let now = workflow_core::time::truncate_ms(Utc::now());
        let (insert, finish) = match dialect {
            Dialect::Postgres => (
                "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())",
                "UPDATE _prisma_migrations SET finished_at = now(), applied_steps_count = applied_steps_count + 1 WHERE id = $1",
            ),
            Dialect::Sqlite => (
                "INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, $4)",
                "UPDATE _prisma_migrations SET finished_at = $2, applied_steps_count = applied_steps_count + 1 WHERE id = $1",
            ),
        };
        let mut args = vec![Arg::text(&id), Arg::text(migration.checksum()), Arg::text(migration.name)];
        if dialect == Dialect::Sqlite {
            args.push(Arg::at(now));
        }
        conn.execute(insert, args).await.map_err(db(format!("record {} as started", migration.name)))?;
        conn.execute_script(migration.sql).await.map_err(db(format!("apply {}", migration.name)))?;
        let mut args = vec![Arg::text(&id)];
        if dialect == Dialect::Sqlite {
            args.push(Arg::at(now));
        }
        conn.execute(finish, args).await.map_err(db(format!("record {} as finished", migration.name)))?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => conn.execute_script("COMMIT").await.map_err(db("commit")),
        Err(error) => {
            if let Err(rollback) = conn.execute_script("ROLLBACK").await {
                tracing::error!(%rollback, "rollback of a failed migration failed");
            }
            Err(error)
        }
    }
}

async fn apply_all(
    conn: &mut dyn SqlConn,
    migrations: &[Migration],
) -> Result<MigrationReport, MigrateError> {
    conn.execute_script(create_history(conn.dialect()))
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
        let applied = recorded
            .iter()
            .find(|row| row.name == migration.name && row.finished && !row.rolled_back);
        match applied {
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

/// Applies the pending migrations of the connection's database (PostgreSQL or SQLite).
pub async fn apply(conn: &mut dyn SqlConn) -> Result<MigrationReport, MigrateError> {
    match conn.dialect() {
        Dialect::Sqlite => apply_all(conn, SQLITE).await,
        Dialect::Postgres => {
            conn.execute_script(PRISMA_LOCK)
                .await
                .map_err(db("take the migration lock"))?;
            let result = apply_all(conn, POSTGRES).await;
            if let Err(error) = conn.execute_script(PRISMA_UNLOCK).await {
                tracing::warn!(%error, "cannot release the migration lock");
            }
            result
        }
    }
}
