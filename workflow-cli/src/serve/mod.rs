//! `wf serve`: the query API as JSON over HTTP (axum), `POST` cancel and rerun behind a bearer token,
//! Server-Sent Events of one run's or every run's events read from the outbox table, and Prometheus
//! metrics at `/metrics`. Streams are woken by PostgreSQL's event notifications (SQLite: polling), so a
//! viewer sees every worker's events, in order, whichever process wrote them.
//!
//! Routes (JSON unless noted; errors are `{"error": "…"}` with a 4xx/5xx status):
//!
//! | route | what |
//! |---|---|
//! | `GET /api/summary` | run counts per status and workflow |
//! | `GET /api/runs?status=&workflow=&since=&until=&annotation=KEY=VALUE&limit=&cursor=` | one page of runs |
//! | `GET /api/runs/{id}` | the run with stages, annotations, AI usage |
//! | `GET /api/runs/{id}/logs` | its logs |
//! | `GET /api/runs/{id}/events?after=&limit=` | its events after a sequence |
//! | `GET /api/runs/{id}/events/stream` | SSE of its events; `id:` is the sequence, `Last-Event-ID` resumes |
//! | `GET /api/events?after=&limit=` | the feed of all runs (settled events) |
//! | `GET /api/events/stream` | SSE of the feed; `id:` is the event id, `Last-Event-ID` resumes |
//! | `POST /api/runs/{id}/cancel` `{"reason"?}` | cancel (bearer token) |
//! | `POST /api/runs/{id}/rerun` `{"from": STAGE}` | rerun (bearer token; needs the workflow's definition) |
//! | `GET /metrics` | Prometheus text |

mod api;
mod auth;
mod errors;
mod sse;

use crate::cli::ServeArgs;
use crate::commands::CliError;
use crate::context::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use workflow_core::kernel::Kernel;
use workflow_core::ports::Registry;
use workflow_core::query::Queries;
use workflow_prisma_compat::{EventWakeups, Migrations};

/// The largest request body accepted (cancel reasons, rerun requests), in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub queries: Queries,
    pub kernel: Kernel,
    pub token: Option<Arc<str>>,
    pub streams: Arc<Semaphore>,
    pub max_streams: usize,
    /// Bumped whenever the database says events were appended.
    pub events: watch::Receiver<u64>,
    /// How long a stream waits for a wake-up before it looks anyway.
    pub poll: Duration,
    /// Cancelled at shutdown: open streams end so the server can stop.
    pub shutdown: CancellationToken,
}

/// The router over `state` (also what the HTTP tests serve).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/summary", get(api::summary))
        .route("/api/runs", get(api::list_runs))
        .route("/api/runs/{id}", get(api::show_run))
        .route("/api/runs/{id}/logs", get(api::run_logs))
        .route("/api/runs/{id}/events", get(api::run_events))
        .route("/api/runs/{id}/events/stream", get(sse::run_stream))
        .route("/api/events", get(api::feed))
        .route("/api/events/stream", get(sse::feed_stream))
        .route("/api/runs/{id}/cancel", post(api::cancel_run))
        .route("/api/runs/{id}/rerun", post(api::rerun_run))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

pub(crate) async fn run(
    url: Option<String>,
    registry: Registry,
    args: ServeArgs,
) -> Result<(), CliError> {
    let context = Context::open(url, registry, Migrations::Require).await?;
    let queries = context.queries();
    let shutdown = CancellationToken::new();
    let mut wakeups = EventWakeups::connect(&context.url).await?;
    let poll = crate::commands::follow_delay(&wakeups, Duration::from_millis(args.poll_ms.max(10)));
    let (bump, events) = watch::channel(0_u64);
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let mut version = 0;
        while stop.run_until_cancelled(wakeups.next()).await.is_some() {
            version += 1;
            let _ = bump.send(version);
        }
    });
    let state = AppState {
        queries: queries.clone(),
        kernel: context.kernel(),
        token: args.token.filter(|t| !t.is_empty()).map(Arc::from),
        streams: Arc::new(Semaphore::new(args.max_streams)),
        max_streams: args.max_streams,
        events,
        poll,
        shutdown: shutdown.clone(),
    };
    if state.token.is_none() {
        tracing::warn!("no --token (or WF_API_TOKEN): cancel and rerun are refused with 401");
    }
    let metrics = crate::metrics::install(queries);
    let app = router(state).merge(crate::metrics::routes(metrics));
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    let addr = listener.local_addr()?;
    eprintln!("wf serve: listening on http://{addr}");
    let stop = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            workflow_core::hosts::shutdown_signal().await;
            stop.cancel();
        })
        .await?;
    Ok(())
}
