//! `document-wf`: the `wf` command-line tool built for the document processor, the way an application
//! builds its own (`workflow_cli::run` with its workflows): every `wf` subcommand, plus `worker`, which
//! runs the document processor's stages (its model served by the examples' local mock), and `runs rerun`,
//! which needs the workflow's definition.
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
    // The worker's `summarize` calls its model through a local mock (no network, no key).
    let mock = match workflow_examples::mock_llm::start().await {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!("error: cannot start the mock model: {error}");
            return ExitCode::FAILURE;
        }
    };
    let registry = Registry::new().with::<workflow::DocumentProcessor>();
    workflow_cli::run_with_ai(registry, workflow_examples::mock_llm::ai_setup(&mock)).await
}
