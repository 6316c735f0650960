//! The standalone `wf` binary: every subcommand that needs no stage code (see `workflow_cli`).

use std::process::ExitCode;
use workflow_core::ports::Registry;

#[tokio::main]
async fn main() -> ExitCode {
    workflow_cli::run(Registry::new()).await
}
