//! The PostgreSQL server the benchmark uses: a database of its own per purpose (so that
//! `pg_stat_database` counts only the engine's commits), created from the given URL and dropped at the end.

use sqlx::{Connection, PgConnection};
use std::sync::Mutex;
use url::Url;

/// The environment variables a PostgreSQL URL is read from, in order.
pub const URL_VARS: [&str; 3] = [
    "WORKFLOW_BENCH_POSTGRES_URL",
    "WORKFLOW_TEST_POSTGRES_URL",
    "DATABASE_URL",
];

/// A PostgreSQL server reached through an administrative URL.
pub struct PgServer {
    admin: Url,
    created: Mutex<Vec<String>>,
}

/// The engine's tables, emptied between repetitions.
const TABLES: &str = "\"workflow_runs\", \"workflow_stages\", \"workflow_logs\", \"workflow_artifacts\", \"ai_calls\", \
                      \"workflow_annotations\", \"job_queue\", \"outbox_events\", \"idempotency_keys\"";

impl PgServer {
    /// The server of `url` (`postgres://…`), checked by connecting once.
    pub async fn connect(url: &str) -> Result<PgServer, String> {
        let admin = Url::parse(url).map_err(|e| format!("bad PostgreSQL URL: {e}"))?;
        if !matches!(admin.scheme(), "postgres" | "postgresql") {
            return Err(format!(
                "not a PostgreSQL URL (scheme {:?})",
                admin.scheme()
            ));
        }
        PgConnection::connect(admin.as_str())
            .await
            .map_err(|e| format!("cannot reach PostgreSQL: {e}"))?
            .close()
            .await
            .map_err(|e| e.to_string())?;
        Ok(PgServer {
            admin,
            created: Mutex::new(Vec::new()),
        })
    }

    /// The URL from the first of [`URL_VARS`] that is set, if any.
    pub fn url_from_env() -> Option<String> {
        URL_VARS
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|url| url.starts_with("postgres://") || url.starts_with("postgresql://"))
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        let mut url = self.admin.clone();
        url.set_path(&format!("/{name}"));
        url.to_string()
    }

    /// `SELECT version()`.
    pub async fn version(&self) -> Result<String, String> {
        let mut conn = self.admin_connection().await?;
        let (version,): (String,) = sqlx::query_as("SELECT version()")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok(version)
    }

    async fn admin_connection(&self) -> Result<PgConnection, String> {
        PgConnection::connect(self.admin.as_str())
            .await
            .map_err(|e| format!("cannot reach PostgreSQL: {e}"))
    }

    /// Creates an empty database `workflow_bench_<pid>_<purpose>` (dropping a leftover of that name) and
    /// returns its URL. It is dropped by [`drop_all`](PgServer::drop_all).
    pub async fn create_database(&self, purpose: &str) -> Result<String, String> {
        let name = format!("workflow_bench_{}_{purpose}", std::process::id());
        let mut conn = self.admin_connection().await?;
        // Identifiers cannot be bound; the name is made of this process id and a fixed purpose word.
        debug_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        for statement in [
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            format!("CREATE DATABASE \"{name}\""),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("cannot create database {name}: {e}"))?;
        }
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name.clone());
        Ok(self.url_of(&name))
    }

    /// Drops every database this server object created.
    pub async fn drop_all(&self) {
        let names = std::mem::take(&mut *self.created.lock().unwrap_or_else(|p| p.into_inner()));
        let Ok(mut conn) = self.admin_connection().await else {
            return;
        };
        for name in names {
            let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            if let Err(error) = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await
            {
                eprintln!("could not drop benchmark database {name}: {error}");
            }
        }
    }
}

/// Empties the engine's tables of the database at `url`.
pub async fn truncate(url: &str) -> Result<(), String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("TRUNCATE {TABLES}")))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot empty the tables: {e}"))?;
    Ok(())
}

/// Completed runs in the database at `url`.
pub async fn completed_runs(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM \"workflow_runs\" WHERE \"status\" = CAST($1::text AS \"Status\")",
    )
    .bind("COMPLETED")
    .fetch_one(conn)
    .await?;
    Ok(count)
}

/// Stage rows with `status` in the database of `conn`.
pub async fn stages_with_status(conn: &mut PgConnection, status: &str) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM \"workflow_stages\" WHERE \"status\" = CAST($1::text AS \"Status\")",
    )
    .bind(status)
    .fetch_one(conn)
    .await?;
    Ok(count)
}
