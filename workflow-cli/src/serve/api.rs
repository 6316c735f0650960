//! The JSON routes: the query API, and cancel / rerun behind the bearer token.

use super::AppState;
use super::auth;
use super::errors::ApiError;
use crate::commands::{parse_annotation, parse_time};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};
use workflow_core::kernel::{RunCancel, RunRerunFrom};
use workflow_core::ports::{LogRecord, OutboxRecord, RunFilter, Status};
use workflow_core::query::{FeedPage, RunPage, RunView, Summary};

/// Query parameters of `GET /api/runs`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    status: Option<String>,
    workflow: Option<String>,
    since: Option<String>,
    until: Option<String>,
    annotation: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// Query parameters of the event routes.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventParams {
    pub after: Option<String>,
    limit: Option<usize>,
}

fn bad(error: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(error.to_string())
}

pub(crate) async fn summary(State(state): State<AppState>) -> Result<Json<Summary>, ApiError> {
    Ok(Json(state.queries.summary().await?))
}

pub(crate) async fn list_runs(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<RunPage>, ApiError> {
    let status = params
        .status
        .as_deref()
        .map(|text| {
            Status::parse(&text.to_uppercase()).ok_or_else(|| {
                let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                bad(format!(
                    "status {text:?} is not one of {}",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    let filter = RunFilter {
        status,
        workflow_id: params.workflow.map(Into::into),
        created_from: params
            .since
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(|e| bad(format!("since: {e}")))?,
        created_before: params
            .until
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(|e| bad(format!("until: {e}")))?,
        annotation: params
            .annotation
            .as_deref()
            .map(parse_annotation)
            .transpose()
            .map_err(|e| bad(format!("annotation: {e}")))?,
        before_id: params.cursor.map(Into::into),
        limit: params.limit,
    };
    Ok(Json(state.queries.runs(&filter).await?))
}

pub(crate) async fn show_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunView>, ApiError> {
    state
        .queries
        .run(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::no_run(&id))
}

pub(crate) async fn run_logs(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<LogRecord>>, ApiError> {
    if state.queries.run_record(&id).await?.is_none() {
        return Err(ApiError::no_run(&id));
    }
    Ok(Json(state.queries.logs(&id).await?))
}

pub(crate) async fn run_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<EventParams>,
) -> Result<Json<Vec<OutboxRecord>>, ApiError> {
    let after = match params.after.as_deref() {
        Some(text) => text
            .parse::<i32>()
            .map_err(|_| bad(format!("after {text:?} is not a sequence number")))?,
        None => 0,
    };
    if state.queries.run_record(&id).await?.is_none() {
        return Err(ApiError::no_run(&id));
    }
    Ok(Json(
        state
            .queries
            .events(&id, after, params.limit.unwrap_or(100))
            .await?,
    ))
}

pub(crate) async fn feed(
    State(state): State<AppState>,
    Query(params): Query<EventParams>,
) -> Result<Json<FeedPage>, ApiError> {
    Ok(Json(
        state
            .queries
            .feed(params.after.as_deref(), params.limit.unwrap_or(100))
            .await?,
    ))
}

/// Body of `POST /api/runs/{id}/cancel` (optional).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CancelBody {
    reason: Option<String>,
}

pub(crate) async fn cancel_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<CancelBody>>,
) -> Result<Json<Value>, ApiError> {
    auth::require(state.token.as_deref(), &headers)?;
    if state.queries.run_record(&id).await?.is_none() {
        return Err(ApiError::no_run(&id));
    }
    let mut command = RunCancel::new(id.clone());
    if let Some(reason) = body.and_then(|Json(body)| body.reason) {
        command = command.reason(reason);
    }
    let result = state.kernel.dispatch(command).await?;
    Ok(Json(
        json!({ "workflowRunId": id, "cancelled": result.cancelled }),
    ))
}

/// Body of `POST /api/runs/{id}/rerun`.
#[derive(Debug, Deserialize)]
pub(crate) struct RerunBody {
    from: String,
}

pub(crate) async fn rerun_run(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<RerunBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    auth::require(state.token.as_deref(), &headers)?;
    let Json(body) = body.map_err(|rejection| {
        bad(format!(
            "body must be {{\"from\": \"<stage id>\"}}: {rejection}"
        ))
    })?;
    let result = state
        .kernel
        .dispatch(RunRerunFrom::new(id, body.from))
        .await?;
    Ok(Json(serde_json::to_value(result).map_err(bad)?))
}
