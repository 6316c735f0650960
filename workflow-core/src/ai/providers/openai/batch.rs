//! OpenAI's Batch API: the requests uploaded as a JSONL file (`POST /files`, purpose `batch`), a batch
//! over it (`POST /batches`, 24 h window), its status (`GET /batches/{id}`), and the output and error
//! files read back line by line (`GET /files/{id}/content`).

use super::{Completion, OpenAiCompatible, chat_body};
use crate::ai::error::AiError;
use crate::ai::models::ModelSpec;
use crate::ai::provider::{BatchItem, BatchRequest, BatchState, BatchStatus};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct WireBatch {
    id: String,
    status: String,
    #[serde(default)]
    request_counts: Option<Counts>,
    #[serde(default)]
    output_file_id: Option<String>,
    #[serde(default)]
    error_file_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct Counts {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    completed: u64,
    #[serde(default)]
    failed: u64,
}

#[derive(Deserialize)]
struct BatchLine {
    custom_id: String,
    #[serde(default)]
    response: Option<BatchLineResponse>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct BatchLineResponse {
    status_code: u16,
    body: Value,
}

pub(super) async fn submit(
    provider: &OpenAiCompatible,
    model: &ModelSpec,
    requests: &[BatchRequest],
) -> Result<String, AiError> {
    let id = &model.provider_model_id;
    let mut lines = String::new();
    for request in requests {
        let line = json!({
            "custom_id": request.custom_id,
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": chat_body(model, &request.prompt),
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let key = provider.endpoint.api_key()?;
    let url = provider.endpoint.url("/files");
    let upload = || {
        let file = reqwest::multipart::Part::text(lines.clone())
            .file_name("batch.jsonl")
            .mime_str("application/jsonl")
            .expect("a valid mime type");
        let form = reqwest::multipart::Form::new()
            .text("purpose", "batch")
            .part("file", file);
        provider
            .authorized(provider.endpoint.client().post(&url), &key)
            .multipart(form)
    };
    let file: Value = provider.endpoint.json(id, upload).await?;
    let file_id = file["id"]
        .as_str()
        .ok_or_else(|| provider.endpoint.malformed(id, "no file id"))?;
    let body = json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"});
    let batch: WireBatch = provider
        .endpoint
        .json(id, provider.post("/batches", &body)?)
        .await?;
    Ok(batch.id)
}

pub(super) async fn status(
    provider: &OpenAiCompatible,
    model: &ModelSpec,
    batch_id: &str,
) -> Result<BatchStatus, AiError> {
    let id = &model.provider_model_id;
    let batch: WireBatch = provider
        .endpoint
        .json(id, provider.get(&format!("/batches/{batch_id}"))?)
        .await?;
    let state = match batch.status.as_str() {
        "validating" => BatchState::Pending,
        "in_progress" | "finalizing" | "cancelling" => BatchState::Running,
        "completed" => BatchState::Completed,
        "failed" => BatchState::Failed,
        "expired" => BatchState::Expired,
        "cancelled" => BatchState::Cancelled,
        other => {
            return Err(provider
                .endpoint
                .malformed(id, format!("unknown batch status {other:?}")));
        }
    };
    let counts = batch.request_counts.unwrap_or_default();
    Ok(BatchStatus {
        state,
        total: counts.total,
        succeeded: counts.completed,
        failed: counts.failed,
    })
}

pub(super) async fn results(
    provider: &OpenAiCompatible,
    model: &ModelSpec,
    batch_id: &str,
) -> Result<Vec<BatchItem>, AiError> {
    let id = &model.provider_model_id;
    let batch: WireBatch = provider
        .endpoint
        .json(id, provider.get(&format!("/batches/{batch_id}"))?)
        .await?;
    let mut items = Vec::new();
    for file in [batch.output_file_id, batch.error_file_id]
        .into_iter()
        .flatten()
    {
        let body = provider
            .endpoint
            .text(id, provider.get(&format!("/files/{file}/content"))?)
            .await?;
        for line in body.lines().filter(|line| !line.trim().is_empty()) {
            let line: BatchLine = provider.endpoint.decode(id, line)?;
            let outcome = match (line.response, line.error) {
                (Some(response), None) if response.status_code == 200 => {
                    let completion: Completion = serde_json::from_value(response.body)
                        .map_err(|e| provider.endpoint.malformed(id, e.to_string()))?;
                    completion.into_generation(&provider.endpoint, id)
                }
                .map_err(|e| e.to_string()),
                (Some(response), _) => {
                    Err(format!("HTTP {}: {}", response.status_code, response.body))
                }
                (None, error) => {
                    Err(error.map_or_else(|| "no response".to_owned(), |e| e.to_string()))
                }
            };
            items.push(BatchItem {
                custom_id: line.custom_id,
                outcome,
            });
        }
    }
    Ok(items)
}
