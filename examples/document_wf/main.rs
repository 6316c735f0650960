//! `document-wf`: the `wf` command-line tool built for the document processor, the way an application
//! builds its own (`workflow_cli::run` with its workflows): every `wf` subcommand, plus `worker`, which
//! runs the document processor's stages, and `runs rerun`, which needs the workflow's definition.
//!
//! ```sh
//! cargo run -p workflow-examples --bin document-wf -- --database-url sqlite:docs.db migrate
//! cargo run -p workflow-examples --bin document-wf -- --database-url sqlite:docs.db worker --concurrency 4
//! cargo run -p workflow-examples --bin document-wf -- --database-url sqlite:docs.db serve --token s3cret
//! ```

#[path = "../document_processor/workflow.rs"]
mod workflow;

use std::process::ExitCode;
use workflow_core::ports::Registry;

#[tokio::main]
async fn main() -> ExitCode {
    workflow_cli::run(Registry::new().with::<workflow::DocumentProcessor>()).await
}
