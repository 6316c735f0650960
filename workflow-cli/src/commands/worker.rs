//! `wf worker`: a worker host over this binary's workflows until SIGINT or SIGTERM (a second signal stops
//! in-flight stages at once), optionally serving Prometheus metrics.

use super::CliError;
use crate::cli::WorkerArgs;
use crate::context::Context;
use workflow_core::ai::AiSetup;
use workflow_core::hosts::{HostConfig, WorkerHost};
use workflow_core::ports::{Registry, WorkflowRegistry};
use workflow_prisma_compat::Migrations;

pub(super) async fn run(
    url: Option<String>,
    registry: Registry,
    ai: AiSetup,
    args: WorkerArgs,
) -> Result<(), CliError> {
    if registry.workflow_ids().is_empty() {
        return Err(CliError::NeedsWorkflows(
            "`worker` runs your stage code, which the standalone wf binary does not have: build your own \
             binary with `workflow_cli::run(Registry::new().with::<YourWorkflow>())` and run its `worker`"
                .into(),
        ));
    }
    let worker_id = args
        .worker_id
        .unwrap_or_else(|| format!("{}-{}", hostname(), std::process::id()));
    let config = HostConfig {
        concurrency: args.concurrency,
        ..HostConfig::new(worker_id)
    };
    config
        .validate()
        .map_err(|error| CliError::Usage(error.to_string()))?;
    let context = Context::open(url, registry, Migrations::Apply).await?;
    if let Some(addr) = args.metrics_addr {
        let handle = crate::metrics::install(context.queries());
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "serving metrics");
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, crate::metrics::routes(handle)).await {
                tracing::error!(%error, "the metrics server stopped");
            }
        });
    }
    WorkerHost::new(context.kernel_with_ai(ai), config)
        .run_until_signal()
        .await
        .map_err(|error| CliError::Usage(error.to_string()))
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "worker".into())
}
