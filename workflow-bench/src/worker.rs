//! The `worker` mode: this program as a separate worker process over a database, started and stopped by
//! the multi-process and memory scenarios.
//!
//! Protocol: the process connects, prints `ready`, waits for a line `go` on stdin, then runs a
//! [`WorkerHost`] until stdin closes (or SIGINT/SIGTERM), stops it gracefully and exits 0.

use crate::workload;
use std::process::{ExitCode, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use workflow_core::hosts::{HostConfig, WorkerHost, shutdown_signal};
use workflow_core::kernel::Kernel;

/// Runs as a worker process.
pub async fn run(database_url: &str, worker_id: &str, concurrency: usize) -> ExitCode {
    let db = match workflow_prisma_compat::open(database_url).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("worker {worker_id}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let kernel = Kernel::builder()
        .store(db.store)
        .registry(workload::registry())
        .build()
        .expect("every port is set");
    println!("ready");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    match lines.next_line().await {
        Ok(Some(line)) if line.trim() == "go" => {}
        _ => return ExitCode::SUCCESS,
    }
    let host = WorkerHost::new(
        kernel,
        HostConfig {
            concurrency,
            ..HostConfig::new(worker_id)
        },
    );
    if let Err(error) = host.start().await {
        eprintln!("worker {worker_id}: {error}");
        return ExitCode::FAILURE;
    }
    let stdin_closed = async { while let Ok(Some(_)) = lines.next_line().await {} };
    tokio::select! {
        () = stdin_closed => {}
        () = shutdown_signal() => {}
    }
    host.stop().await;
    ExitCode::SUCCESS
}

/// A started worker process.
pub struct WorkerProcess {
    child: Child,
}

impl WorkerProcess {
    /// Starts `exe worker …` and waits (at most 30 s) until it is connected and ready.
    pub async fn start(
        exe: &std::path::Path,
        database_url: &str,
        worker_id: &str,
        concurrency: usize,
    ) -> Result<WorkerProcess, String> {
        let mut child = Command::new(exe)
            .args([
                "worker",
                "--database-url",
                database_url,
                "--worker-id",
                worker_id,
            ])
            .args(["--concurrency", &concurrency.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start a worker process: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let ready = async {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim() == "ready" {
                    return true;
                }
            }
            false
        };
        match tokio::time::timeout(Duration::from_secs(30), ready).await {
            Ok(true) => Ok(WorkerProcess { child }),
            Ok(false) => Err(format!("worker {worker_id} exited before it was ready")),
            Err(_) => Err(format!("worker {worker_id} was not ready within 30 s")),
        }
    }

    /// Lets the worker start processing.
    pub async fn go(&mut self) -> Result<(), String> {
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        stdin
            .write_all(b"go\n")
            .await
            .map_err(|e| format!("cannot start a worker: {e}"))?;
        stdin.flush().await.map_err(|e| e.to_string())
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Closes stdin (the worker stops gracefully) and waits at most 15 s before killing it.
    pub async fn stop(mut self) {
        drop(self.child.stdin.take());
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// Peak resident set size of process `pid` in MiB (`VmHWM` of `/proc/<pid>/status`).
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
