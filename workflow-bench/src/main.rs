//! `workflow-bench`: measures the engine as a user runs it and writes `bench/REPORT.md`.
//!
//! ```sh
//! cargo run --release -p workflow-bench -- all            # every scenario, 3 repetitions each
//! cargo run --release -p workflow-bench -- postgres       # one scenario, merged into the saved results
//! cargo run -p workflow-bench -- all --smoke              # tiny sizes, under a minute (CI)
//! cargo run -p workflow-bench -- report                   # REPORT.md again from results.json (after
//!                                                         # editing ANALYSIS.md), nothing measured
//! ```
//!
//! PostgreSQL scenarios use the server of `--database-url` (or `WORKFLOW_BENCH_POSTGRES_URL`,
//! `WORKFLOW_TEST_POSTGRES_URL`, `DATABASE_URL`), in databases of their own that are dropped at the end;
//! without one they are reported as skipped.

mod backend;
mod drive;
mod measure;
mod pg;
mod plan;
mod probe;
mod report;
mod results;
mod scenarios;
mod statements;
mod targets;
mod worker;
mod workload;

use clap::{Args, Parser, Subcommand};
use plan::{Context, Plan};
use results::{Meta, Results};
use scenarios::Scenario;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Benchmarks of the typed workflow engine.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs every scenario and writes the report.
    All(RunArgs),
    /// 1: the in-memory kernel at 100, 1,000 and 10,000 runs.
    Memory(RunArgs),
    /// 2: SQLite at concurrency 1, 4, 8 and 16.
    Sqlite(RunArgs),
    /// 3: PostgreSQL at concurrency 1, 4, 16 and 64, and with 2 and 4 worker processes.
    Postgres(RunArgs),
    /// 4: latency on PostgreSQL and SQLite with an idle worker and the default `HostConfig`.
    Latency(RunArgs),
    /// 5: PostgreSQL throughput with 10⁶ historical runs versus empty tables.
    Scale(RunArgs),
    /// 6: peak RSS of one worker process holding 10,000 suspended runs.
    Rss(RunArgs),
    /// 7: commits and SQL statements per stage execution on PostgreSQL, listed per statement.
    Cost(RunArgs),
    /// 8: the machine's own limit (pgbench one-row INSERTs; a raw SQLite INSERT loop).
    Limit(RunArgs),
    /// Writes `REPORT.md` again from the saved `results.json`, `baseline.json` and `ANALYSIS.md` of
    /// `--out` (default `bench/`), measuring nothing.
    Report {
        /// The folder of `results.json`; `REPORT.md` is written there.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A worker process of the multi-process scenarios (started by the benchmark itself).
    #[command(hide = true)]
    Worker {
        /// The database.
        #[arg(long)]
        database_url: String,
        /// The worker id.
        #[arg(long)]
        worker_id: String,
        /// Jobs at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Every scenario at tiny size with short budgets (CI: checks that each scenario finishes and prints;
    /// the figures mean nothing).
    #[arg(long)]
    smoke: bool,
    /// Repetitions per figure (full mode).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    reps: u16,
    /// The PostgreSQL server (`postgres://user@host/db`); the benchmark creates its own databases there.
    #[arg(long)]
    database_url: Option<String>,
    /// Fail when PostgreSQL is unreachable instead of reporting its scenarios as skipped.
    #[arg(long)]
    require_postgres: bool,
    /// Where `results.json` and `REPORT.md` are written (default: `bench/` of the workspace; with
    /// `--smoke`, a temporary directory) and where `baseline.json` and `ANALYSIS.md` are read.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn init_tracing() {
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")));
    tracing_subscriber::registry()
        .with(output)
        .with(statements::StatementCounter.with_filter(statements::StatementFilter))
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    match Cli::parse().command {
        Command::Worker {
            database_url,
            worker_id,
            concurrency,
        } => worker::run(&database_url, &worker_id, concurrency).await,
        Command::Report { out } => match render_saved(&out.unwrap_or_else(default_out_dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("workflow-bench: {error}");
                ExitCode::FAILURE
            }
        },
        Command::All(args) => sitting(&Scenario::ALL, args).await,
        Command::Memory(args) => one(Scenario::Memory, args).await,
        Command::Sqlite(args) => one(Scenario::Sqlite, args).await,
        Command::Postgres(args) => one(Scenario::Postgres, args).await,
        Command::Latency(args) => one(Scenario::Latency, args).await,
        Command::Scale(args) => one(Scenario::Scale, args).await,
        Command::Rss(args) => one(Scenario::Rss, args).await,
        Command::Cost(args) => one(Scenario::Cost, args).await,
        Command::Limit(args) => one(Scenario::Limit, args).await,
    }
}

/// Runs one scenario (after the machine limit, when its tables are shown as ratios to it) and merges its
/// figures into the saved results.
async fn one(scenario: Scenario, args: RunArgs) -> ExitCode {
    let mut chosen = Vec::new();
    if scenario.needs_limit() {
        chosen.push(Scenario::Limit);
    }
    chosen.push(scenario);
    sitting(&chosen, args).await
}

async fn sitting(scenarios: &[Scenario], args: RunArgs) -> ExitCode {
    match run_sitting(scenarios, args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("workflow-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_sitting(scenarios: &[Scenario], args: RunArgs) -> Result<(), String> {
    let plan = if args.smoke {
        Plan::smoke()
    } else {
        Plan::full(usize::from(args.reps))
    };
    let scratch = tempfile::Builder::new()
        .prefix("workflow-bench-")
        .tempdir()
        .map_err(|e| format!("cannot create a scratch directory: {e}"))?;
    let out_dir = match &args.out {
        Some(dir) => dir.clone(),
        None if args.smoke => scratch.path().join("report"),
        None => default_out_dir(),
    };
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let url = args
        .database_url
        .clone()
        .or_else(pg::PgServer::url_from_env);
    let (postgres, postgres_missing) = match &url {
        Some(url) => match pg::PgServer::connect(url).await {
            Ok(server) => (Some(server), String::new()),
            Err(error) => (None, error),
        },
        None => (
            None,
            format!(
                "no PostgreSQL URL (pass --database-url or set {})",
                pg::URL_VARS.join(", ")
            ),
        ),
    };
    let ctx = Context {
        plan,
        postgres,
        postgres_missing,
        scratch: scratch.path().to_path_buf(),
        exe: std::env::current_exe().map_err(|e| e.to_string())?,
    };
    let mut fresh = Results {
        meta: meta(&ctx).await,
        ..Results::default()
    };
    for scenario in scenarios {
        let begun = std::time::Instant::now();
        eprintln!("== {} ...", scenario.name());
        scenario.run(&ctx, &mut fresh).await;
        eprintln!(
            "== {} done in {:.1} s",
            scenario.name(),
            begun.elapsed().as_secs_f64()
        );
    }
    if let Some(server) = &ctx.postgres {
        server.drop_all().await;
    }

    let results_path = out_dir.join("results.json");
    let mut results = if scenarios.len() == Scenario::ALL.len() {
        Results::default()
    } else {
        Results::load(&results_path)?.unwrap_or_default()
    };
    for scenario in scenarios {
        results.merge_scenario(scenario.name(), scenario.prefix(), &fresh);
    }
    results.meta = fresh.meta;
    results.save(&results_path)?;
    let report = write_report(&out_dir, &results)?;
    println!("{report}");
    Ok(())
}

/// `bench/` of the workspace.
fn default_out_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench")
}

/// Renders `REPORT.md` in `out_dir` from `results`, with the `baseline.json` and `ANALYSIS.md` found
/// there; returns the report.
fn write_report(out_dir: &Path, results: &Results) -> Result<String, String> {
    let baseline = Results::load(&out_dir.join("baseline.json"))?;
    let analysis = std::fs::read_to_string(out_dir.join("ANALYSIS.md")).ok();
    let report = report::render(results, baseline.as_ref(), analysis.as_deref());
    let report_path = out_dir.join("REPORT.md");
    std::fs::write(&report_path, &report).map_err(|e| format!("{}: {e}", report_path.display()))?;
    eprintln!("wrote {}", report_path.display());
    Ok(report)
}

/// The `report` command: `REPORT.md` again from the saved results of `out_dir`.
fn render_saved(out_dir: &Path) -> Result<(), String> {
    let results_path = out_dir.join("results.json");
    let results = Results::load(&results_path)?.ok_or_else(|| {
        format!(
            "{}: no saved results to report (run a scenario first)",
            results_path.display()
        )
    })?;
    write_report(out_dir, &results).map(drop)
}

/// Facts about the machine and the sitting.
async fn meta(ctx: &Context) -> Meta {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".to_owned(), |m| m.trim().to_owned());
    let memory_kib: f64 = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let commit = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        );
    let postgres = match &ctx.postgres {
        Some(server) => server.version().await.ok(),
        None => None,
    };
    let sqlite = match sqlx::SqlitePool::connect("sqlite::memory:").await {
        Ok(pool) => sqlx::query_scalar::<_, String>("SELECT sqlite_version()")
            .fetch_one(&pool)
            .await
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Meta {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu,
        memory_gib: memory_kib / 1024.0 / 1024.0,
        postgres,
        sqlite,
        commit,
        mode: if ctx.plan.smoke { "smoke" } else { "full" }.into(),
        command: std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    }
}
