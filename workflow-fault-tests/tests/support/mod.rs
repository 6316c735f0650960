//! What the fault tests share: a fresh database per test, worker processes (`fault-worker`), the body
//! log, and polling the database until a condition holds.

#![allow(dead_code)]

mod database;

pub use database::Database;

use sqlx::AssertSqlSafe;
use std::collections::HashMap;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use workflow_core::kernel::Kernel;
use workflow_fault_tests::BodyLine;

/// What a fault test works with: its database, a kernel to create runs, a direct connection for checks,
/// and the guard that runs the fault tests one at a time (the machine is small and the timings of one
/// should not starve another).
pub struct Scenario {
    pub db: Database,
    pub kernel: Kernel,
    pub sql: Sql,
    pub _one: tokio::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Scenario {
    /// A scenario on a fresh PostgreSQL database, or `None` when the PostgreSQL tests are skipped.
    pub async fn postgres(test: &str) -> Option<Scenario> {
        let one = ONE_AT_A_TIME.lock().await;
        let db = Database::postgres(test).await?;
        Some(Self::over(db, one).await)
    }

    /// A scenario on a fresh SQLite file.
    pub async fn sqlite() -> Scenario {
        let one = ONE_AT_A_TIME.lock().await;
        Self::over(Database::sqlite(), one).await
    }

    async fn over(db: Database, one: tokio::sync::MutexGuard<'static, ()>) -> Scenario {
        let kernel = db.kernel().await;
        let sql = Sql::connect(&db).await;
        Scenario {
            db,
            kernel,
            sql,
            _one: one,
        }
    }

    /// Closes the connections and drops the database (after the workers have exited).
    pub async fn finish(self) {
        self.sql.close().await;
        drop(self.kernel);
        self.db.drop_database().await;
    }
}

/// Settings of a worker process (milliseconds).
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub stale_lease_ms: u64,
    pub heartbeat_ms: u64,
    pub orchestration_ms: u64,
    pub stuck_ms: Option<u64>,
    pub grace_ms: u64,
}

impl Default for WorkerSettings {
    /// Short leases so that recovery happens within a test: a 2 s lease refreshed every 500 ms, a 300 ms
    /// maintenance tick, runs judged stuck after 6 s.
    fn default() -> Self {
        WorkerSettings {
            concurrency: 4,
            stale_lease_ms: 2_000,
            heartbeat_ms: 500,
            orchestration_ms: 300,
            stuck_ms: Some(6_000),
            grace_ms: 30_000,
        }
    }
}

/// A running `fault-worker` process.
pub struct Worker {
    child: Child,
    pub pid: u32,
}

impl Worker {
    /// Starts a worker named `worker_id` over `db`.
    pub fn start(db: &Database, worker_id: &str, settings: &WorkerSettings) -> Worker {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fault-worker"));
        command
            .arg("--database-url")
            .arg(&db.url)
            .arg("--worker-id")
            .arg(worker_id)
            .arg("--concurrency")
            .arg(settings.concurrency.to_string())
            .arg("--stale-lease-ms")
            .arg(settings.stale_lease_ms.to_string())
            .arg("--heartbeat-ms")
            .arg(settings.heartbeat_ms.to_string())
            .arg("--orchestration-ms")
            .arg(settings.orchestration_ms.to_string())
            .arg("--grace-ms")
            .arg(settings.grace_ms.to_string())
            .env(workflow_fault_tests::BODY_LOG_VAR, db.body_log())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(stuck) = settings.stuck_ms {
            command.arg("--stuck-ms").arg(stuck.to_string());
        }
        let child = command.spawn().expect("the fault-worker binary starts");
        let pid = child.id().expect("a running child has a pid");
        Worker { child, pid }
    }

    /// `kill -9`: the process ends at once, mid-stage, without a word to the database.
    pub async fn kill_9(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// Sends SIGTERM (a graceful stop).
    pub fn sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM to {}", self.pid);
    }

    /// Waits at most `timeout` for the process to exit.
    pub async fn wait(mut self, timeout: Duration) -> ExitStatus {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("worker {} did not exit within {timeout:?}", self.pid))
            .expect("wait for the worker")
    }

    /// Stops the worker with SIGTERM and checks that it exits 0.
    pub async fn stop(self) {
        self.sigterm();
        let pid = self.pid;
        let status = self.wait(Duration::from_secs(40)).await;
        assert!(status.success(), "worker {pid} exited with {status}");
    }
}

/// The lines of the body log so far.
pub fn body_lines(path: &Path) -> Vec<BodyLine> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(BodyLine::parse)
        .collect()
}

/// How many `event` lines each `(run, stage)` has.
pub fn body_counts(lines: &[BodyLine], event: &str) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for line in lines.iter().filter(|l| l.event == event) {
        *counts
            .entry((line.run_id.clone(), line.stage_id.clone()))
            .or_default() += 1;
    }
    counts
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout` (then panics with `what`).
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let begun = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            begun.elapsed() < timeout,
            "{what} did not happen within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs `$body` with `$pool` bound to whichever pool `$sql` holds (the two arms differ only in type).
macro_rules! on_pool {
    ($sql:expr, |$pool:ident| $body:expr) => {
        match $sql {
            Sql::Postgres($pool) => $body,
            Sql::Sqlite($pool) => $body,
        }
    };
}

/// A direct connection to the test database, for checks the engine's API does not answer.
pub enum Sql {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl Sql {
    /// Connects to `db`.
    pub async fn connect(db: &Database) -> Sql {
        if db.admin.is_some() {
            Sql::Postgres(sqlx::PgPool::connect(&db.url).await.expect("connect"))
        } else {
            Sql::Sqlite(sqlx::SqlitePool::connect(&db.url).await.expect("connect"))
        }
    }

    /// Rows of `table` (one of the engine's tables) by status.
    pub async fn statuses(&self, table: &str) -> HashMap<String, i64> {
        assert!(
            ["workflow_runs", "workflow_stages", "job_queue"].contains(&table),
            "not a table with a status: {table}"
        );
        let sql = format!("SELECT CAST(\"status\" AS TEXT), count(*) FROM \"{table}\" GROUP BY 1");
        let rows: Vec<(String, i64)> = on_pool!(self, |pool| sqlx::query_as(AssertSqlSafe(sql))
            .fetch_all(pool)
            .await)
        .expect("count statuses");
        rows.into_iter().collect()
    }

    /// How many rows `table` has with `status`.
    pub async fn count(&self, table: &str, status: &str) -> i64 {
        self.statuses(table).await.get(status).copied().unwrap_or(0)
    }

    /// `(status, attempt)` of the stage `stage_id` of `run_id`.
    pub async fn stage(&self, run_id: &str, stage_id: &str) -> (String, i64) {
        let sql = "SELECT CAST(\"status\" AS TEXT), CAST(\"attempt\" AS BIGINT) FROM \"workflow_stages\" \
                   WHERE \"workflowRunId\" = $1 AND \"stageId\" = $2";
        on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(run_id)
            .bind(stage_id)
            .fetch_one(pool)
            .await)
        .expect("the stage row")
    }

    /// `(status, attempt)` of every job of `run_id`'s stage `stage_id`.
    pub async fn jobs(&self, run_id: &str, stage_id: &str) -> Vec<(String, i64)> {
        let sql = "SELECT CAST(\"status\" AS TEXT), CAST(\"attempt\" AS BIGINT) FROM \"job_queue\" \
                   WHERE \"workflowRunId\" = $1 AND \"stageId\" = $2";
        on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(run_id)
            .bind(stage_id)
            .fetch_all(pool)
            .await)
        .expect("the job rows")
    }

    /// How many outbox events of `run_id` have `event_type`.
    pub async fn events(&self, run_id: &str, event_type: &str) -> i64 {
        let sql = "SELECT count(*) FROM \"outbox_events\" WHERE \"workflowRunId\" = $1 AND \"eventType\" = $2";
        on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(run_id)
            .bind(event_type)
            .fetch_one(pool)
            .await)
        .expect("count events")
    }

    /// The blob keys (`workflow_artifacts.key`) of `run_id`.
    pub async fn artifacts(&self, run_id: &str) -> Vec<String> {
        let sql =
            "SELECT \"key\" FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 ORDER BY 1";
        on_pool!(self, |pool| sqlx::query_scalar(sql)
            .bind(run_id)
            .fetch_all(pool)
            .await)
        .expect("list artifacts")
    }

    /// Closes the connections.
    pub async fn close(self) {
        on_pool!(self, |pool| pool.close().await)
    }
}
