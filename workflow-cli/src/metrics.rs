//! Prometheus metrics for `wf serve` and `wf worker`: the engine records through the `metrics` facade
//! (see `workflow_core::metrics` for the names); this installs a Prometheus recorder, samples the queue
//! depth and run counts every few seconds, and renders the text format at `GET /metrics`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;
use workflow_core::ports::Status;
use workflow_core::query::Queries;

/// How often the gauges are sampled from the database.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Installs the process's Prometheus recorder (once) and starts sampling `queries`' gauges.
pub(crate) fn install(queries: Queries) -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    let handle = HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .expect("no other metrics recorder is installed in wf")
        })
        .clone();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            sample(&queries).await;
            upkeep.run_upkeep();
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
    });
    handle
}

async fn sample(queries: &Queries) {
    match queries.queue_depth().await {
        Ok(counts) => {
            for status in [Status::Pending, Status::Running, Status::Suspended] {
                let count = counts.get(&status).copied().unwrap_or(0);
                metrics::gauge!("workflow_queue_depth", "status" => status.as_str())
                    .set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot sample the queue depth"),
    }
    match queries.summary().await {
        Ok(summary) => {
            for status in Status::ALL {
                let count = summary.by_status.get(&status).copied().unwrap_or(0);
                metrics::gauge!("workflow_runs", "status" => status.as_str()).set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "cannot sample the run counts"),
    }
}

/// `GET /metrics` in the Prometheus text format.
pub(crate) fn routes(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    )
}
