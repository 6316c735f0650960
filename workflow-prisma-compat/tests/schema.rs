//! The schema this crate creates is the schema of the reference migrations: both databases are
//! introspected and compared with a database built by running the reference files of
//! `../shared/prisma/reference` directly.

mod common;

use sqlx::{AssertSqlSafe, Row};
use std::path::PathBuf;

/// A reference migration file from `shared/prisma/reference` (beside the repository, as in CI).
fn reference_sql(database: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/prisma/reference")
        .join(database);
    let folder = std::fs::read_dir(&root)
        .unwrap_or_else(|e| {
            panic!(
                "the reference migrations must be at {}: {e}",
                root.display()
            )
        })
        .filter_map(Result::ok)
        .find(|entry| entry.path().is_dir())
        .expect("one migration folder");
    std::fs::read_to_string(folder.path().join("migration.sql")).expect("migration.sql")
}

#[test]
fn the_shipped_migrations_are_the_reference_files_byte_for_byte() {
    assert_eq!(
        workflow_prisma_compat::migrate::POSTGRES[0].sql,
        reference_sql("postgresql")
    );
    assert_eq!(
        workflow_prisma_compat::migrate::SQLITE[0].sql,
        reference_sql("sqlite")
    );
}

async fn sqlite_objects(pool: &sqlx::SqlitePool) -> Vec<(String, String, String)> {
    sqlx::query("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '\\_prisma%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY type, name")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get::<Option<String>, _>(2).unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn sqlite_schema_equals_the_reference() {
    let (_dir, store) = common::sqlite().await;
    let ours = sqlite_objects(store.pool()).await;

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("reference.db").display()
    );
    let reference = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(reference_sql("sqlite")))
        .execute(&reference)
        .await
        .unwrap();
    let expected = sqlite_objects(&reference).await;

    assert_eq!(ours.len(), 29, "9 tables and 20 indexes");
    assert_eq!(ours, expected);
}

/// Columns, indexes, constraints and enum values of one PostgreSQL schema, with the schema name removed.
async fn postgres_schema(pool: &sqlx::PgPool, schema: &str) -> Vec<String> {
    let queries = [
        "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || udt_name || ' null=' || is_nullable || \
         ' default=' || coalesce(column_default, '-') || ' precision=' || coalesce(datetime_precision::text, '-') \
         FROM information_schema.columns WHERE table_schema = $1 AND table_name <> '_prisma_migrations' ORDER BY table_name, ordinal_position",
        "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename <> '_prisma_migrations' ORDER BY indexname",
        "SELECT c.conname || ': ' || pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
         WHERE n.nspname = $1 AND c.conname NOT LIKE '\\_prisma%' ESCAPE '\\' ORDER BY c.conname",
        "SELECT t.typname || '=' || e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = $1 ORDER BY e.enumsortorder",
    ];
    let mut lines = Vec::new();
    for query in queries {
        for row in sqlx::query(query)
            .bind(schema)
            .fetch_all(pool)
            .await
            .unwrap()
        {
            lines.push(
                row.get::<String, _>(0)
                    .replace(&format!("{schema}."), "")
                    .replace(&format!("\"{schema}\"."), ""),
            );
        }
    }
    lines
}

#[tokio::test]
async fn postgres_schema_equals_the_reference() {
    let Some((backend, store)) = common::postgres(module_path!()).await else {
        return;
    };
    let ours_schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let ours = postgres_schema(store.pool(), &ours_schema).await;

    let url = workflow_prisma_compat::testing::postgres_url(module_path!()).unwrap();
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let reference_schema = format!("wf_reference_{}", uuid::Uuid::new_v4().simple());
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA \"{reference_schema}\""
    )))
    .execute(&admin)
    .await
    .unwrap();
    let mut conn = admin.acquire().await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(format!(
        "SET search_path TO \"{reference_schema}\""
    )))
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql(AssertSqlSafe(reference_sql("postgresql")))
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let expected = postgres_schema(&admin, &reference_schema).await;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DROP SCHEMA \"{reference_schema}\" CASCADE"
    )))
    .execute(&admin)
    .await
    .unwrap();

    assert!(ours.iter().any(|line| line == "Status=SKIPPED"));
    assert!(ours.iter().any(|line| line.starts_with("workflow_runs.createdAt timestamp without time zone timestamp null=NO default=CURRENT_TIMESTAMP precision=3")));
    assert!(ours.iter().any(|line| line.contains("workflow_stages_workflowRunId_fkey: FOREIGN KEY (\"workflowRunId\") REFERENCES workflow_runs(id) ON UPDATE CASCADE ON DELETE CASCADE")));
    assert_eq!(ours, expected);
    workflow_testing::conformance::BackendFactory::cleanup(&backend).await;
}
