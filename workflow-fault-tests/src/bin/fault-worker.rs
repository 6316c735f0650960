//! A worker process for the fault tests: a [`WorkerHost`] over the database of `--database-url`, running
//! the fault workflows until SIGINT or SIGTERM (a second signal stops in-flight stages at once). Exits 0
//! after a graceful stop, 2 when the host settings are refused, 1 when the database cannot be opened.

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;
use workflow_core::hosts::{HostConfig, WorkerHost};
use workflow_core::kernel::Kernel;

/// Runs the fault workflows as one worker process.
#[derive(Parser)]
struct Args {
    /// `postgres://…` or `sqlite:…`.
    #[arg(long)]
    database_url: String,
    /// The worker id (`workerId` of its leases).
    #[arg(long)]
    worker_id: String,
    /// Jobs executed at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// `stale_lease_threshold` in milliseconds.
    #[arg(long, default_value_t = 300_000)]
    stale_lease_ms: u64,
    /// `job_heartbeat_interval` in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    heartbeat_ms: u64,
    /// `orchestration_interval` in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    orchestration_ms: u64,
    /// `stuck_run_threshold` in milliseconds (default: the host's).
    #[arg(long)]
    stuck_ms: Option<u64>,
    /// `shutdown_grace` in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    grace_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .init();
    let args = Args::parse();
    let ms = Duration::from_millis;
    let config = HostConfig {
        concurrency: args.concurrency,
        stale_lease_threshold: ms(args.stale_lease_ms),
        job_heartbeat_interval: ms(args.heartbeat_ms),
        orchestration_interval: ms(args.orchestration_ms),
        stuck_run_threshold: args.stuck_ms.map(ms),
        shutdown_grace: ms(args.grace_ms),
        ..HostConfig::new(args.worker_id.clone())
    };
    if let Err(error) = config.validate() {
        eprintln!("worker {}: {error}", args.worker_id);
        return ExitCode::from(2);
    }
    let db = match workflow_prisma_compat::open(&args.database_url).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("worker {}: {error}", args.worker_id);
            return ExitCode::FAILURE;
        }
    };
    let kernel = Kernel::builder()
        .store(db.store)
        .registry(workflow_fault_tests::registry())
        .build()
        .expect("every port is set");
    match WorkerHost::new(kernel, config).run_until_signal().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("worker {}: {error}", args.worker_id);
            ExitCode::from(2)
        }
    }
}
