//! Gemini's batch mode with inline requests: `POST models/{id}:batchGenerateContent`, then the batch
//! operation `GET batches/{id}` (its `metadata.state` and `batchStats`, and when done
//! `response.inlinedResponses`).

use super::{ContentReply, Gemini, content_body};
use crate::ai::error::AiError;
use crate::ai::models::ModelSpec;
use crate::ai::provider::{BatchItem, BatchRequest, BatchState, BatchStatus};
use serde::Deserialize;
use serde_json::{Value, json};

/// A batch operation as `GET /v1beta/batches/{id}` returns it.
#[derive(Deserialize)]
struct Operation {
    name: String,
    #[serde(default)]
    metadata: Value,
    #[serde(default)]
    response: Value,
}

pub(super) async fn submit(
    provider: &Gemini,
    model: &ModelSpec,
    requests: &[BatchRequest],
) -> Result<String, AiError> {
    let id = &model.provider_model_id;
    let inline: Vec<Value> = requests
        .iter()
        .map(|r| json!({"request": content_body(&r.prompt), "metadata": {"key": r.custom_id}}))
        .collect();
    let body = json!({"batch": {
        "display_name": format!("workflow-{}", crate::ids::cuid()),
        "input_config": {"requests": {"requests": inline}},
    }});
    let path = format!("/v1beta/models/{id}:batchGenerateContent");
    let operation: Operation = provider
        .endpoint
        .json(id, provider.request(&path, Some(body))?)
        .await?;
    Ok(operation.name)
}

pub(super) async fn status(
    provider: &Gemini,
    model: &ModelSpec,
    batch_id: &str,
) -> Result<BatchStatus, AiError> {
    let id = &model.provider_model_id;
    let operation = operation(provider, id, batch_id).await?;
    let state_text = operation.metadata["state"].as_str().unwrap_or_default();
    // Documented as BATCH_STATE_* and, in places, JOB_STATE_*.
    let state = match state_text.rsplit("STATE_").next().unwrap_or_default() {
        "PENDING" | "UNSPECIFIED" => BatchState::Pending,
        "RUNNING" => BatchState::Running,
        "SUCCEEDED" => BatchState::Completed,
        "FAILED" => BatchState::Failed,
        "CANCELLED" => BatchState::Cancelled,
        "EXPIRED" => BatchState::Expired,
        _ => {
            return Err(provider
                .endpoint
                .malformed(id, format!("unknown batch state {state_text:?}")));
        }
    };
    let stats = &operation.metadata["batchStats"];
    let count = |key: &str| {
        let value = &stats[key];
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0)
    };
    Ok(BatchStatus {
        state,
        total: count("requestCount"),
        succeeded: count("successfulRequestCount"),
        failed: count("failedRequestCount"),
    })
}

pub(super) async fn results(
    provider: &Gemini,
    model: &ModelSpec,
    batch_id: &str,
) -> Result<Vec<BatchItem>, AiError> {
    let id = &model.provider_model_id;
    let operation = operation(provider, id, batch_id).await?;
    let inlined = &operation.response["inlinedResponses"];
    let responses = inlined["inlinedResponses"]
        .as_array()
        .or_else(|| inlined.as_array());
    let responses = responses.ok_or_else(|| {
        provider.endpoint.malformed(
            id,
            format!("batch {batch_id} has no response.inlinedResponses (not finished?)"),
        )
    })?;
    responses
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let custom_id = item["metadata"]["key"]
                .as_str()
                .map_or_else(|| index.to_string(), str::to_owned);
            let outcome = if item.get("error").is_some_and(|e| !e.is_null()) {
                Err(item["error"]["message"]
                    .as_str()
                    .unwrap_or("failed")
                    .to_owned())
            } else {
                let reply: ContentReply = serde_json::from_value(item["response"].clone())
                    .map_err(|e| {
                        provider
                            .endpoint
                            .malformed(id, format!("inlined response {index}: {e}"))
                    })?;
                Ok(reply.into_generation())
            };
            Ok(BatchItem { custom_id, outcome })
        })
        .collect()
}

/// The batch operation `batch_id` (`batches/…`, with or without the prefix).
async fn operation(
    provider: &Gemini,
    model_id: &str,
    batch_id: &str,
) -> Result<Operation, AiError> {
    let name = if batch_id.starts_with("batches/") {
        batch_id.to_owned()
    } else {
        format!("batches/{batch_id}")
    };
    provider
        .endpoint
        .json(
            model_id,
            provider.request(&format!("/v1beta/{name}"), None)?,
        )
        .await
}
