//! The command line: every subcommand and option of `wf`, as clap derives them (help texts included).

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;
use std::net::SocketAddr;
use workflow_core::ports::Status;

/// Operate the typed workflow engine's database: migrate it, list, inspect, cancel and rerun runs, follow
/// events, serve the query API over HTTP with live events, and (from a binary built with
/// `workflow_cli::run(registry)`) run workers.
#[derive(Debug, Parser)]
#[command(name = "wf", version, propagate_version = true)]
pub struct Cli {
    /// The database: `sqlite:<path>` (or a plain file path) or `postgres://user@host/database`.
    #[arg(long, env = "DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,

    /// Print JSON instead of tables (one object; streams print one object per line).
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the schema's migrations (recorded in `_prisma_migrations` as Prisma records them), or show
    /// which are applied.
    Migrate(MigrateArgs),
    /// List, show, cancel or rerun runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Print outbox events, of one run or of all runs; `--follow` keeps printing new ones.
    Events(EventsArgs),
    /// Serve the query API as JSON over HTTP, cancel and rerun (with a bearer token), live events over
    /// Server-Sent Events, and Prometheus metrics at `/metrics`.
    Serve(ServeArgs),
    /// Run a worker for this binary's workflows until SIGINT or SIGTERM (needs a binary built with
    /// `workflow_cli::run(registry)`).
    Worker(WorkerArgs),
}

/// `wf migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// `apply` (default) applies the pending migrations; `status` only reports.
    #[arg(value_enum, default_value_t = MigrateAction::Apply)]
    pub action: MigrateAction,
}

/// What `wf migrate` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MigrateAction {
    /// Apply the pending migrations.
    Apply,
    /// Report applied and pending migrations without changing anything.
    Status,
}

/// `wf runs …`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first, one page at a time (`--cursor` continues a page).
    List(ListArgs),
    /// Show a run with its stages, annotations and AI usage; `--follow` shows progress until it ends.
    Show(ShowArgs),
    /// Cancel a pending or running run (its queued jobs and unfinished stages too).
    Cancel(CancelArgs),
    /// Rerun a finished run from a stage: that stage's group and every later one run again.
    Rerun(RerunArgs),
}

/// `wf runs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only runs with this status (any case).
    #[arg(long, value_parser = status_parser(), ignore_case = true)]
    pub status: Option<Status>,
    /// Only runs of this workflow id.
    #[arg(long, value_name = "WORKFLOW_ID")]
    pub workflow: Option<String>,
    /// Only runs created at or after this time (RFC 3339, e.g. `2026-12-01T09:00:00Z`, or a date
    /// `2026-12-01`).
    #[arg(long, value_name = "TIME", value_parser = crate::commands::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only runs created before this time (same forms as `--since`).
    #[arg(long, value_name = "TIME", value_parser = crate::commands::parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Only runs with an annotation `KEY` whose value is `VALUE` (JSON, or else a string).
    #[arg(long, value_name = "KEY=VALUE", value_parser = crate::commands::parse_annotation)]
    pub annotation: Option<(String, Value)>,
    /// Runs per page (1 to 1000).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
    /// The `next` cursor printed by the previous page.
    #[arg(long, value_name = "RUN_ID")]
    pub cursor: Option<String>,
}

/// `wf runs show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run's id.
    pub run_id: String,
    /// Also print the run's logs.
    #[arg(long)]
    pub logs: bool,
    /// Keep showing the run's progress (bars on a terminal, a line per change otherwise) until it ends.
    #[arg(long)]
    pub follow: bool,
}

/// `wf runs cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The run's id.
    pub run_id: String,
    /// Why (stored in the `workflow:cancelled` event).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `wf runs rerun`.
#[derive(Debug, Args)]
pub struct RerunArgs {
    /// The run's id.
    pub run_id: String,
    /// The stage id to rerun from.
    #[arg(long, value_name = "STAGE_ID")]
    pub from: String,
}

/// `wf events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this run's events (by sequence); all runs otherwise (by event id, 2 s behind).
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Keep printing new events until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// Start after this point: a sequence number with `--run`, an event id otherwise.
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
}

/// `wf serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (loopback by default; put a TLS proxy in front to expose it).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The bearer token `POST` routes (cancel, rerun) require; without one they are refused with 401.
    #[arg(long, env = "WF_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Event streams open at once; more are refused with 503.
    #[arg(long, default_value_t = 64)]
    pub max_streams: usize,
    /// How often streams look for new events when nothing wakes them, in ms (SQLite has no `NOTIFY`).
    #[arg(long, default_value_t = 250)]
    pub poll_ms: u64,
}

/// `wf worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// This worker's id (`job_queue.workerId`); default `<hostname>-<pid>`.
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Jobs executed at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Serve Prometheus metrics at `http://ADDR/metrics` (off by default).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// Parses a status name in any case (`failed`, `FAILED`), listing the names in `--help`.
fn status_parser() -> impl clap::builder::TypedValueParser<Value = Status> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Status::ALL.map(|status| status.as_str()))
        .map(|name| Status::parse(&name.to_uppercase()).expect("a possible value is a status"))
}
