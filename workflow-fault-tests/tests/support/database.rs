//! A database of its own for each fault test: a fresh PostgreSQL database or a SQLite file.

use super::{body_lines, eventually};
use sqlx::AssertSqlSafe;
use std::path::PathBuf;
use std::time::Duration;
use workflow_core::kernel::{Kernel, RunCreate};
use workflow_fault_tests::Load;

/// A database of its own for one test: a fresh PostgreSQL database (dropped afterwards) or a SQLite file
/// in a temporary directory.
pub struct Database {
    /// The URL workers and the test connect to.
    pub url: String,
    pub(super) admin: Option<(String, String)>,
    /// The directory of the body log (and of the SQLite file).
    pub dir: tempfile::TempDir,
}

impl Database {
    /// A fresh PostgreSQL database on the server of `WORKFLOW_TEST_POSTGRES_URL`, or `None` when the
    /// PostgreSQL tests are skipped (they fail instead when `WORKFLOW_TEST_REQUIRE_POSTGRES` is set).
    pub async fn postgres(test: &str) -> Option<Database> {
        let server = workflow_prisma_compat::testing::postgres_url(test)?;
        let name = format!("wf_fault_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&server)
            .await
            .unwrap_or_else(|e| panic!("{test}: PostgreSQL is unreachable: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&admin)
            .await
            .expect("create the test database");
        admin.close().await;
        let mut url = url_with_database(&server, &name);
        url.push_str(if url.contains('?') { "&" } else { "?" });
        url.push_str("application_name=fault-worker");
        Some(Database {
            url,
            admin: Some((server, name)),
            dir: tempfile::tempdir().expect("a temporary directory"),
        })
    }

    /// A SQLite file in a temporary directory.
    pub fn sqlite() -> Database {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite:{}", dir.path().join("faults.db").display());
        Database {
            url,
            admin: None,
            dir,
        }
    }

    /// Waits until a stage body started in the worker process `pid` (at most 30 s).
    pub async fn started_in(&self, pid: u32) {
        eventually(Duration::from_secs(30), "the stage starting", || async {
            body_lines(&self.body_log())
                .iter()
                .any(|l| l.event == "start" && l.pid == pid)
                .then_some(())
        })
        .await;
    }

    /// The body log the workers of this test append to.
    pub fn body_log(&self) -> PathBuf {
        self.dir.path().join("bodies.log")
    }

    /// A kernel over the database (migrating it on first use) with the fault workflows.
    pub async fn kernel(&self) -> Kernel {
        let db = workflow_prisma_compat::open(&self.url)
            .await
            .expect("the test database opens");
        Kernel::builder()
            .store(db.store)
            .registry(workflow_fault_tests::registry())
            .build()
            .expect("every port is set")
    }

    /// Creates `count` runs of `workflow` whose stages work for `sleep_ms` each; returns their ids.
    pub async fn create_runs(
        &self,
        kernel: &Kernel,
        workflow: &str,
        count: usize,
        sleep_ms: u64,
    ) -> Vec<workflow_core::ids::RunId> {
        let input = serde_json::to_value(Load { sleep_ms }).unwrap();
        let mut ids = Vec::with_capacity(count);
        for _ in 0..count {
            let command = RunCreate::new(uuid::Uuid::new_v4().to_string(), workflow, input.clone());
            ids.push(
                kernel
                    .dispatch(command)
                    .await
                    .expect("run.create")
                    .workflow_run_id,
            );
        }
        ids
    }

    /// Drops the PostgreSQL database (after the workers have exited).
    pub async fn drop_database(self) {
        if let Some((server, name)) = &self.admin {
            let admin = sqlx::PgPool::connect(server).await.unwrap();
            sqlx::raw_sql(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
            )))
            .execute(&admin)
            .await
            .expect("drop the test database");
        }
    }
}

fn url_with_database(server: &str, database: &str) -> String {
    let (base, query) = server.split_once('?').unwrap_or((server, ""));
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|i| start + i))
        .unwrap_or(base.len());
    let mut url = format!("{}/{database}", &base[..authority_end]);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}
