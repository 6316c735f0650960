//! Backend factories for the `workflow-core` conformance suite (feature `testing`): a fresh SQLite file or
//! a fresh PostgreSQL schema per scenario.

use crate::{PgStore, SqliteStore};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use workflow_testing::conformance::{Backend, BackendFactory};

/// The environment variable holding the PostgreSQL URL tests use.
pub const POSTGRES_URL_VAR: &str = "WORKFLOW_TEST_POSTGRES_URL";
/// When set (CI sets it), a missing or unreachable PostgreSQL fails the tests instead of skipping them.
pub const REQUIRE_POSTGRES_VAR: &str = "WORKFLOW_TEST_REQUIRE_POSTGRES";

/// The PostgreSQL URL for tests, or `None` after a loud notice that the test is skipped.
///
/// # Panics
/// If [`REQUIRE_POSTGRES_VAR`] is set and the URL is missing.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os(REQUIRE_POSTGRES_VAR).is_some() => {
            panic!(
                "{test}: {REQUIRE_POSTGRES_VAR} is set but {POSTGRES_URL_VAR} is not: PostgreSQL tests must run here"
            )
        }
        _ => {
            eprintln!(
                "SKIPPED {test}: set {POSTGRES_URL_VAR}=postgres://user@host/db to run the PostgreSQL tests"
            );
            None
        }
    }
}

/// A fresh SQLite database file per scenario, in a temporary directory removed with the factory.
pub struct SqliteBackend {
    dir: tempfile::TempDir,
}

impl SqliteBackend {
    /// A factory with its own temporary directory.
    ///
    /// # Panics
    /// If no temporary directory can be created.
    pub fn new() -> Self {
        SqliteBackend {
            dir: tempfile::Builder::new()
                .prefix("workflow-sqlite-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    /// Opens a fresh store in the directory.
    pub async fn store(&self) -> SqliteStore {
        let path = self.dir.path().join(format!("{}.db", uuid::Uuid::new_v4()));
        SqliteStore::open(&path)
            .await
            .expect("a fresh SQLite database opens and migrates")
    }
}

impl Default for SqliteBackend {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl BackendFactory for SqliteBackend {
    async fn create(&self) -> Backend {
        Backend::of(Arc::new(self.store().await))
    }
}

/// A fresh PostgreSQL schema per scenario (dropped after a scenario that passed).
pub struct PostgresBackend {
    url: String,
    schemas: Mutex<Vec<String>>,
}

impl PostgresBackend {
    /// A factory over the database of [`POSTGRES_URL_VAR`], or `None` (skipped, see [`postgres_url`]).
    pub fn from_env(test: &str) -> Option<Self> {
        postgres_url(test).map(|url| PostgresBackend {
            url,
            schemas: Mutex::new(Vec::new()),
        })
    }

    /// Opens a fresh, migrated store in a new schema.
    ///
    /// # Panics
    /// If PostgreSQL cannot be reached (the tests fail rather than skip once a URL is given).
    pub async fn store(&self) -> PgStore {
        let schema = self.new_schema().await;
        let options = PgConnectOptions::from_str(&self.url)
            .expect("a valid URL")
            .options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .expect("connect to the test schema");
        PgStore::migrated(pool, &self.url)
            .await
            .expect("migrate the test schema")
    }

    /// A URL of the test database whose connections use a new, empty schema (`options[search_path]=…`),
    /// dropped with the others at cleanup; `extra` query parameters are appended (`"sslmode=require"`).
    ///
    /// # Panics
    /// If PostgreSQL cannot be reached.
    pub async fn schema_url(&self, extra: &str) -> String {
        let schema = self.new_schema().await;
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{separator}options[search_path]={schema}", self.url);
        if !extra.is_empty() {
            url.push('&');
            url.push_str(extra);
        }
        url
    }

    async fn new_schema(&self) -> String {
        let schema = format!("wf_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&self.url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} is unreachable: {e}",
                crate::store_url(&self.url)
            )
        });
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
            .execute(&admin)
            .await
            .expect("create a test schema");
        admin.close().await;
        self.schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(schema.clone());
        schema
    }
}

#[async_trait]
impl BackendFactory for PostgresBackend {
    async fn create(&self) -> Backend {
        Backend::of(Arc::new(self.store().await))
    }

    async fn cleanup(&self) {
        let schemas = std::mem::take(&mut *self.schemas.lock().unwrap_or_else(|p| p.into_inner()));
        if schemas.is_empty() {
            return;
        }
        if let Ok(admin) = sqlx::PgPool::connect(&self.url).await {
            for schema in schemas {
                let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                )))
                .execute(&admin)
                .await;
                if let Err(error) = dropped {
                    eprintln!("could not drop test schema {schema}: {error}");
                }
            }
            admin.close().await;
        }
    }
}

/// The queries whose plans the `EXPLAIN` tests check (each with binds of the right types).
#[derive(Clone, Debug)]
pub enum PlannedQuery {
    /// The job claim, for jobs of the workflow `w`.
    JobClaim,
    /// `list_runs` with this filter.
    ListRuns(workflow_core::ports::RunFilter),
    /// A run's events after a sequence (the SSE cursor of one run).
    RunEvents,
    /// The event feed of all runs after an event id.
    EventFeed,
    /// The AI calls under a topic prefix (`ai_calls_by_topic`), as the store matches prefixes.
    AiCallsByTopic(String),
    /// The AI usage under a topic prefix (`ai_usage_by_topic`), as the store matches prefixes.
    AiUsageByTopic(String),
}

/// The statement `query` explains for AI topics, its prefix and the upper bound it binds (if any).
fn topic_statement(
    dialect: crate::sql::Dialect,
    matching: crate::sql::statements::TopicMatch,
    query: &PlannedQuery,
) -> Option<(&'static str, String, Option<String>)> {
    let statements = crate::sql::statements(dialect);
    let (variants, prefix) = match query {
        PlannedQuery::AiCallsByTopic(prefix) => (&statements.ai_calls_by_topic, prefix),
        PlannedQuery::AiUsageByTopic(prefix) => (&statements.ai_usage_by_topic, prefix),
        _ => return None,
    };
    let (matching, upper) = matching.bounds(prefix);
    Some((variants[matching as usize], prefix.clone(), upper))
}

/// The PostgreSQL plan of `query` (`EXPLAIN`, one line per plan node).
///
/// # Panics
/// If the statement cannot be explained.
pub async fn postgres_query_plan(store: &PgStore, query: &PlannedQuery) -> String {
    use crate::exec::SqlExecutor;
    let statements = crate::sql::statements(crate::sql::Dialect::Postgres);
    let lines: Vec<String> = match query {
        PlannedQuery::JobClaim => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "EXPLAIN {}",
                crate::exec::postgres_claim_sql()
            )))
            .bind("w")
            .bind(crate::codec::Ts(chrono::Utc::now()))
            .bind(1_i64)
            .bind(vec!["w".to_owned()])
            .fetch_all(store.pool())
            .await
        }
        PlannedQuery::ListRuns(filter) => {
            let mut qb = SqlExecutor::<sqlx::Postgres>::list_runs_statement(filter, "EXPLAIN ");
            qb.build_query_scalar().fetch_all(store.pool()).await
        }
        PlannedQuery::RunEvents => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "EXPLAIN {}",
                statements.outbox_after
            )))
            .bind("some-run")
            .bind(3_i32)
            .bind(100_i64)
            .fetch_all(store.pool())
            .await
        }
        PlannedQuery::EventFeed => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "EXPLAIN {}",
                statements.outbox_feed
            )))
            .bind("c0")
            .bind("cz")
            .bind(100_i64)
            .fetch_all(store.pool())
            .await
        }
        PlannedQuery::AiCallsByTopic(_) | PlannedQuery::AiUsageByTopic(_) => {
            let matching = store.topic_match().await.expect("the collation is read");
            let (sql, prefix, upper) =
                topic_statement(crate::sql::Dialect::Postgres, matching, query)
                    .expect("a topic query");
            let explain =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"))).bind(prefix);
            match upper {
                Some(upper) => explain.bind(upper),
                None => explain,
            }
            .fetch_all(store.pool())
            .await
        }
    }
    .expect("EXPLAIN a query");
    lines.join("\n")
}

/// The SQLite plan of `query` (`EXPLAIN QUERY PLAN`, one line per step).
///
/// # Panics
/// If the statement cannot be explained.
pub async fn sqlite_query_plan(store: &SqliteStore, query: &PlannedQuery) -> String {
    use crate::exec::SqlExecutor;
    use sqlx::Row;
    let statements = crate::sql::statements(crate::sql::Dialect::Sqlite);
    let plan = |sql: &str| sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"));
    let rows = match query {
        PlannedQuery::JobClaim => {
            sqlx::query(plan(crate::sql::statements::sqlite_claim_jobs()))
                .bind("w")
                .bind(crate::codec::Ts(chrono::Utc::now()))
                .bind(1_i64)
                .bind("[\"w\"]")
                .fetch_all(store.pool())
                .await
        }
        PlannedQuery::ListRuns(filter) => {
            let mut qb =
                SqlExecutor::<sqlx::Sqlite>::list_runs_statement(filter, "EXPLAIN QUERY PLAN ");
            qb.build().fetch_all(store.pool()).await
        }
        PlannedQuery::RunEvents => {
            sqlx::query(plan(statements.outbox_after))
                .bind("some-run")
                .bind(3_i32)
                .bind(100_i64)
                .fetch_all(store.pool())
                .await
        }
        PlannedQuery::EventFeed => {
            sqlx::query(plan(statements.outbox_feed))
                .bind("c0")
                .bind("cz")
                .bind(100_i64)
                .fetch_all(store.pool())
                .await
        }
        PlannedQuery::AiCallsByTopic(_) | PlannedQuery::AiUsageByTopic(_) => {
            let matching = store.topic_match().await.expect("SQLite matches by range");
            let (sql, prefix, upper) =
                topic_statement(crate::sql::Dialect::Sqlite, matching, query)
                    .expect("a topic query");
            let explain = sqlx::query(plan(sql)).bind(prefix);
            match upper {
                Some(upper) => explain.bind(upper),
                None => explain,
            }
            .fetch_all(store.pool())
            .await
        }
    }
    .expect("EXPLAIN QUERY PLAN a query");
    rows.iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("\n")
}
