//! The migration runner records migrations in `_prisma_migrations` as Prisma does, accepts a database
//! migrated by Prisma, and refuses failed or tampered histories.

mod common;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, Row};
use std::str::FromStr;
use workflow_prisma_compat::SqliteStore;
use workflow_prisma_compat::migrate::{self, MigrateError, POSTGRES, SQLITE};

async fn raw_sqlite(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
        .unwrap()
        .create_if_missing(true);
    sqlx::SqlitePool::connect_with(options).await.unwrap()
}

#[tokio::test]
async fn sqlite_history_rows_look_like_prismas() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wf.db");
    SqliteStore::open(&path).await.unwrap();
    let pool = raw_sqlite(&path).await;
    let row = sqlx::query("SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count FROM _prisma_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    let id: String = row.get(0);
    assert!(
        uuid::Uuid::parse_str(&id).is_ok_and(|u| u.get_version_num() == 4),
        "{id}"
    );
    assert_eq!(row.get::<String, _>(1), SQLITE[0].checksum());
    let finished: String = row.get(2);
    assert!(
        finished.ends_with("+00:00") && finished.len() == 29,
        "{finished}"
    );
    assert_eq!(row.get::<String, _>(3), "20261121224737_init");
    assert_eq!(
        (
            row.get::<Option<String>, _>(4),
            row.get::<Option<String>, _>(5)
        ),
        (None, None)
    );
    assert_eq!(row.get::<i64, _>(7), 1);

    // Reopening applies nothing.
    let mut conn = pool.acquire().await.unwrap();
    let report = migrate::apply(&mut *conn).await.unwrap();
    assert_eq!(
        (report.applied.len(), report.already_applied),
        (0, vec!["20261121224737_init".to_owned()])
    );
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM _prisma_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

/// A database as `prisma migrate deploy` leaves it (reference SQL plus Prisma's own history row).
async fn prisma_migrated_sqlite(
    path: &std::path::Path,
    finished: bool,
    checksum: &str,
) -> sqlx::SqlitePool {
    let pool = raw_sqlite(path).await;
    sqlx::raw_sql(
        "CREATE TABLE \"_prisma_migrations\" (\"id\" TEXT PRIMARY KEY NOT NULL, \"checksum\" TEXT NOT NULL, \"finished_at\" DATETIME, \
         \"migration_name\" TEXT NOT NULL, \"logs\" TEXT, \"rolled_back_at\" DATETIME, \"started_at\" DATETIME NOT NULL DEFAULT current_timestamp, \
         \"applied_steps_count\" INTEGER UNSIGNED NOT NULL DEFAULT 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(AssertSqlSafe(SQLITE[0].sql.to_owned()))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, $4, $5, 1)")
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(checksum)
        .bind(finished.then_some("2026-11-21T22:47:37.612+00:00"))
        .bind(SQLITE[0].name)
        .bind("2026-11-21T22:47:37.500+00:00")
        .execute(&pool)
        .await
        .unwrap();
    pool
}

#[tokio::test]
async fn a_database_migrated_by_prisma_is_accepted_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prisma.db");
    let pool = prisma_migrated_sqlite(&path, true, &SQLITE[0].checksum()).await;
    // Another app's own migration and table, as a TypeScript app sharing the database may add.
    sqlx::query("INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count) VALUES ('x', 'y', '2026-12-01T00:00:00.000+00:00', '20261201000000_app_tables', '2026-12-01T00:00:00.000+00:00', 1)")
        .execute(&pool)
        .await
        .unwrap();
    SqliteStore::open(&path)
        .await
        .expect("a Prisma-migrated database opens");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM _prisma_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "no migration is applied twice");
}

#[tokio::test]
async fn failed_and_tampered_histories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let failed = dir.path().join("failed.db");
    prisma_migrated_sqlite(&failed, false, &SQLITE[0].checksum()).await;
    let error = SqliteStore::open(&failed).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("migration 20261121224737_init failed in an earlier attempt"),
        "{error}"
    );
    assert!(error.to_string().contains("prisma migrate resolve"));

    let tampered = dir.path().join("tampered.db");
    prisma_migrated_sqlite(&tampered, true, "0000").await;
    let error = SqliteStore::open(&tampered).await.unwrap_err();
    assert!(matches!(
        error,
        workflow_prisma_compat::ConnectError::Migrate(MigrateError::ChecksumMismatch { .. })
    ));
    assert_eq!(
        error.to_string(),
        format!(
            "migration 20261121224737_init was applied with checksum 0000, but this build's migration.sql has checksum {}",
            SQLITE[0].checksum()
        )
    );
}

#[tokio::test]
async fn a_migration_that_fails_leaves_nothing_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clash.db");
    let pool = raw_sqlite(&path).await;
    // A table in the way makes the migration fail half-way.
    sqlx::raw_sql("CREATE TABLE \"job_queue\" (x INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    let error = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        error.to_string().contains("apply 20261121224737_init"),
        "{error}"
    );
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'workflow_runs'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        tables, 0,
        "the tables created before the failure were rolled back"
    );
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM _prisma_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(history, 0, "no failed row blocks the next attempt");
}

#[tokio::test]
async fn postgres_history_and_advisory_lock() {
    let Some(url) = workflow_prisma_compat::testing::postgres_url(module_path!()) else {
        return;
    };
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let schema = format!("wf_migrate_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .unwrap();

    // Prisma holds advisory lock 72707369 while it migrates; the runner waits for it.
    let mut holder = admin.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(72707369)")
        .execute(&mut *holder)
        .await
        .unwrap();
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .unwrap()
        .options([("search_path", schema.as_str())]);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    let migrating = tokio::spawn({
        let pool = pool.clone();
        async move { migrate::apply(&mut *pool.acquire().await.unwrap()).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!migrating.is_finished(), "the runner waits for the lock");
    sqlx::query("SELECT pg_advisory_unlock(72707369)")
        .execute(&mut *holder)
        .await
        .unwrap();
    let report = migrating.await.unwrap().unwrap();
    assert_eq!(report.applied, ["20261121224731_init"]);

    let row = sqlx::query("SELECT checksum, migration_name, finished_at IS NOT NULL, applied_steps_count, logs, rolled_back_at IS NULL, length(id) FROM _prisma_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), POSTGRES[0].checksum());
    assert_eq!(row.get::<String, _>(1), "20261121224731_init");
    assert!(row.get::<bool, _>(2) && row.get::<bool, _>(5));
    assert_eq!(
        (
            row.get::<i32, _>(3),
            row.get::<Option<String>, _>(4),
            row.get::<i32, _>(6)
        ),
        (1, None, 36)
    );
    let again = migrate::apply(&mut *pool.acquire().await.unwrap())
        .await
        .unwrap();
    assert!(again.applied.is_empty());
    pool.close().await;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}
