//! Errors of the HTTP API as JSON: `{"error": "…"}` with the status that says whose fault it is.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use workflow_core::kernel::KernelError;
use workflow_core::ports::StoreError;

/// A failed request.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn no_run(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no run {id}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "a query failed");
        let status = if error.is_transient() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ApiError::new(status, error.to_string())
    }
}

impl From<KernelError> for ApiError {
    fn from(error: KernelError) -> Self {
        let status = match &error {
            KernelError::RunNotFound(_) => StatusCode::NOT_FOUND,
            KernelError::WorkflowNotFound(_) => StatusCode::NOT_IMPLEMENTED,
            KernelError::StageNotFound { .. }
            | KernelError::InvalidInput(_)
            | KernelError::InvalidConfig(_)
            | KernelError::InvalidCommand { .. } => StatusCode::BAD_REQUEST,
            KernelError::Store(store) if store.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            KernelError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::CONFLICT,
        };
        ApiError::new(status, error.to_string())
    }
}
