//! One module per subcommand, and the error every subcommand reports.

mod events;
mod migrate;
mod runs;
mod worker;

use crate::cli::{Cli, Command};
use workflow_core::ai::AiSetup;
use workflow_core::kernel::KernelError;
use workflow_core::ports::{Registry, StoreError};
use workflow_prisma_compat::ConnectError;

pub(crate) use events::{FOLLOW_POLL, follow_delay};
pub(crate) use runs::{parse_annotation, parse_time};
mod follow;

/// Why a subcommand failed (printed as `error: …`, exit code 1).
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// No `--database-url` and no `DATABASE_URL`.
    #[error(
        "no database given: pass --database-url sqlite:<path> or postgres://user@host/database, or set DATABASE_URL"
    )]
    NoDatabase,
    /// The database could not be opened.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A command was refused.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// No run with this id.
    #[error("no run {0} in this database")]
    NoSuchRun(String),
    /// A value on the command line is wrong (after clap's own checks).
    #[error("{0}")]
    Usage(String),
    /// The subcommand needs workflows this binary does not have.
    #[error("{0}")]
    NeedsWorkflows(String),
    /// Writing output or serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs the parsed command line.
pub(crate) async fn dispatch(cli: Cli, registry: Registry, ai: AiSetup) -> Result<(), CliError> {
    let json = cli.json;
    match cli.command {
        Command::Migrate(args) => migrate::run(cli.database_url, args, json).await,
        Command::Runs(command) => runs::run(cli.database_url, registry, command, json).await,
        Command::Events(args) => events::run(cli.database_url, registry, args, json).await,
        Command::Serve(args) => crate::serve::run(cli.database_url, registry, args).await,
        Command::Worker(args) => worker::run(cli.database_url, registry, ai, args).await,
    }
}
