//! `wf`, the command-line tool of the typed workflow engine, as a library: [`run`] parses the command line
//! and runs the subcommand, so a binary that knows your workflows gets `wf worker` (a worker host over
//! them) and `wf runs rerun` (which needs their definitions) beside every other subcommand. The standalone
//! `wf` binary is `run(Registry::new())`: everything that needs no stage code.
//!
//! ```no_run
//! use workflow_core::ports::Registry;
//! # use workflow_core::prelude::*;
//! # #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)] struct Doc { text: String }
//! # #[stage] async fn count(input: Doc) -> Result<usize, StageError> { Ok(input.text.len()) }
//! # workflow! { pub Words = "words" { input: Doc, stages: count } }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     // `my-wf worker`, `my-wf runs list`, `my-wf serve`, … over your own workflows.
//!     workflow_cli::run(Registry::new().with::<Words>()).await
//! }
//! ```
//!
//! Every subcommand takes `--database-url` (or `DATABASE_URL`) and `--json`. Exit codes follow clap: 0 on
//! success, 2 for a usage error (with clap's message), 1 when the command fails (with a message on
//! stderr naming what failed).

mod cli;
mod commands;
mod context;
mod metrics;
mod output;
mod serve;

pub use cli::Cli;

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;
use workflow_core::ai::AiSetup;
use workflow_core::ports::{Registry, WorkflowRegistry};

/// Parses `std::env::args()` and runs the subcommand over `registry`'s workflows (the `worker`
/// subcommand is hidden when it has none). Returns the process exit code.
pub async fn run(registry: Registry) -> ExitCode {
    run_from(std::env::args_os(), registry).await
}

/// [`run`] whose `worker` calls models through `ai` (its models and providers) instead of
/// [`AiSetup::default`] (the built-in models, API keys from the environment).
pub async fn run_with_ai(registry: Registry, ai: AiSetup) -> ExitCode {
    run_from_with_ai(std::env::args_os(), registry, ai).await
}

/// [`run`] with explicit arguments (the first is the program name).
pub async fn run_from<I, T>(args: I, registry: Registry) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run_from_with_ai(args, registry, AiSetup::default()).await
}

/// [`run_with_ai`] with explicit arguments (the first is the program name).
pub async fn run_from_with_ai<I, T>(args: I, registry: Registry, ai: AiSetup) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let has_workflows = !registry.workflow_ids().is_empty();
    let command = Cli::command().mut_subcommand("worker", |worker| worker.hide(!has_workflows));
    let cli = match command
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(error) => {
            let code = error.exit_code();
            let _ = error.print();
            return ExitCode::from(code as u8);
        }
    };
    init_tracing();
    match commands::dispatch(cli, registry, ai).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}
