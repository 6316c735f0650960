//! Server-Sent Events read from the outbox table. A run's stream is exact: `id:` is the event's sequence,
//! a reconnect with `Last-Event-ID: n` (or `?after=n`) continues at `n + 1`. The stream of all runs uses
//! the feed (`id:` is the outbox id; events are handed out once settled, see `Queries::feed`). Each event
//! is `event: <type>` with the outbox row as JSON `data:`. Streams wait for the database's wake-ups (or
//! poll), send a keep-alive comment every 15 s, hold one of the server's stream slots (503 when none is
//! free) and end when the server shuts down.

use super::AppState;
use super::api::EventParams;
use super::errors::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use workflow_core::ports::OutboxRecord;

/// Events read per query.
const PAGE: usize = 100;

/// Where a stream reads from and how far it got.
enum Cursor {
    Run { run_id: String, sequence: i32 },
    Feed { after: Option<String> },
}

struct StreamState {
    state: AppState,
    cursor: Cursor,
    buffer: VecDeque<OutboxRecord>,
    _slot: OwnedSemaphorePermit,
}

fn resume_point(headers: &HeaderMap, params: &EventParams) -> Option<String> {
    headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| params.after.clone())
        .filter(|text| !text.is_empty())
}

fn slot(state: &AppState) -> Result<OwnedSemaphorePermit, ApiError> {
    state.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{} event streams are open, the most this server allows (--max-streams); try again later", state.max_streams),
        )
    })
}

pub(crate) async fn run_stream(
    State(state): State<AppState>,
    Path(run_id): Path<String>,
    Query(params): Query<EventParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let sequence = match resume_point(&headers, &params) {
        Some(text) => text.parse::<i32>().map_err(|_| {
            ApiError::bad_request(format!(
                "Last-Event-ID {text:?} is not a sequence number of this run"
            ))
        })?,
        None => 0,
    };
    if state.queries.run_record(&run_id).await?.is_none() {
        return Err(ApiError::no_run(&run_id));
    }
    let slot = slot(&state)?;
    Ok(stream(state, Cursor::Run { run_id, sequence }, slot))
}

pub(crate) async fn feed_stream(
    State(state): State<AppState>,
    Query(params): Query<EventParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = resume_point(&headers, &params);
    let slot = slot(&state)?;
    Ok(stream(state, Cursor::Feed { after }, slot))
}

fn stream(
    state: AppState,
    cursor: Cursor,
    slot: OwnedSemaphorePermit,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let start = StreamState {
        state,
        cursor,
        buffer: VecDeque::new(),
        _slot: slot,
    };
    let events = futures::stream::unfold(start, |mut s| async move {
        let mut wake = s.state.events.clone();
        loop {
            if let Some(event) = s.buffer.pop_front() {
                let id = match &mut s.cursor {
                    Cursor::Run { sequence, .. } => {
                        *sequence = event.sequence;
                        event.sequence.to_string()
                    }
                    Cursor::Feed { after } => {
                        *after = Some(event.id.clone());
                        event.id.clone()
                    }
                };
                let data = serde_json::to_string(&event).unwrap_or_else(|_| "{}".into());
                let sse = Event::default()
                    .id(id)
                    .event(event.event_type.clone())
                    .data(data);
                return Some((Ok(sse), s));
            }
            if s.state.shutdown.is_cancelled() {
                return None;
            }
            wake.borrow_and_update();
            match read(&s).await {
                Ok(page) if !page.is_empty() => {
                    s.buffer.extend(page);
                    continue;
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "an event stream could not read the outbox; retrying")
                }
            }
            let shutdown = s.state.shutdown.clone();
            let poll = s.state.poll;
            let _ = shutdown
                .run_until_cancelled(tokio::time::timeout(poll, wake.changed()))
                .await;
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn read(s: &StreamState) -> Result<Vec<OutboxRecord>, workflow_core::ports::StoreError> {
    match &s.cursor {
        Cursor::Run { run_id, sequence } => s.state.queries.events(run_id, *sequence, PAGE).await,
        Cursor::Feed { after } => Ok(s.state.queries.feed(after.as_deref(), PAGE).await?.events),
    }
}
