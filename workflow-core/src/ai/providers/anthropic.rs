//! [`Anthropic`]: the Messages API, streaming and Message Batches. Structured output is a forced tool
//! call whose input schema is the requested type's. Anthropic has no embeddings API.

use super::http::{ApiKey, Endpoint};
use super::sse;
use crate::ai::error::AiError;
use crate::ai::models::ModelSpec;
use crate::ai::provider::{
    AiProvider, BatchItem, BatchRequest, BatchState, BatchStatus, Generation, Prompt, StreamEvent,
    Usage,
};
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

/// The API version header sent with every request.
const API_VERSION: &str = "2023-06-01";
/// `max_tokens` when the prompt sets none (the Messages API requires one).
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// Anthropic's API (`ANTHROPIC_BASE_URL` or `https://api.anthropic.com`, key from `ANTHROPIC_API_KEY`).
///
/// ```
/// use workflow_core::ai::providers::Anthropic;
///
/// let anthropic = Anthropic::from_env();
/// let pinned = Anthropic::new("https://api.anthropic.com").api_key("sk-ant-...");
/// # let _ = (anthropic, pinned);
/// ```
#[derive(Clone, Debug)]
pub struct Anthropic {
    endpoint: Endpoint,
}

super::endpoint_settings!(Anthropic);

impl Anthropic {
    /// The API at `base_url` (the part before `/v1/messages`), key from `ANTHROPIC_API_KEY`.
    pub fn new(base_url: &str) -> Self {
        Anthropic {
            endpoint: Endpoint::new("anthropic", base_url, ApiKey::env(&["ANTHROPIC_API_KEY"])),
        }
    }

    /// `ANTHROPIC_BASE_URL` or `https://api.anthropic.com`.
    pub fn from_env() -> Self {
        Anthropic::new(
            &std::env::var("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|_| "https://api.anthropic.com".into()),
        )
    }

    fn request(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> Result<impl Fn() -> reqwest::RequestBuilder + '_, AiError> {
        let key = self.endpoint.api_key()?.unwrap_or_default();
        Ok(move || {
            let request = self
                .endpoint
                .client()
                .request(method.clone(), &url)
                .header("x-api-key", &key)
                .header("anthropic-version", API_VERSION);
            match &body {
                Some(body) => request.json(body),
                None => request,
            }
        })
    }
}

/// The Messages request for `prompt`.
fn message_body(model: &ModelSpec, prompt: &Prompt) -> Value {
    let mut body = json!({
        "model": model.provider_model_id,
        "max_tokens": prompt.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": [{"role": "user", "content": prompt.text}],
    });
    if let Some(system) = &prompt.system {
        body["system"] = json!(system);
    }
    if let Some(temperature) = prompt.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(schema) = &prompt.schema {
        body["tools"] = json!([{
            "name": schema.name,
            "description": "Respond with the requested object.",
            "input_schema": schema.schema,
        }]);
        body["tool_choice"] = json!({"type": "tool", "name": schema.name});
    }
    body
}

#[derive(Deserialize)]
struct MessageReply {
    content: Vec<Block>,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    input: Option<Value>,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(usage: WireUsage) -> Self {
        Usage {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
        }
    }
}

impl MessageReply {
    /// The text blocks joined, or the forced tool call's input as JSON text.
    fn into_generation(self) -> Generation {
        let tool_input = self
            .content
            .iter()
            .find(|b| b.kind == "tool_use")
            .and_then(|b| b.input.clone());
        let text = match tool_input {
            Some(input) => input.to_string(),
            None => self
                .content
                .into_iter()
                .filter_map(|b| b.text)
                .collect::<Vec<_>>()
                .join(""),
        };
        Generation {
            text,
            usage: self.usage.into(),
        }
    }
}

#[derive(Deserialize)]
struct WireBatch {
    id: String,
    processing_status: String,
    #[serde(default)]
    request_counts: Counts,
    #[serde(default)]
    results_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct Counts {
    #[serde(default)]
    processing: u64,
    #[serde(default)]
    succeeded: u64,
    #[serde(default)]
    errored: u64,
    #[serde(default)]
    canceled: u64,
    #[serde(default)]
    expired: u64,
}

#[derive(Deserialize)]
struct ResultLine {
    custom_id: String,
    result: LineResult,
}

#[derive(Deserialize)]
struct LineResult {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<MessageReply>,
    #[serde(default)]
    error: Option<Value>,
}

#[async_trait]
impl AiProvider for Anthropic {
    async fn generate(&self, model: &ModelSpec, prompt: &Prompt) -> Result<Generation, AiError> {
        let url = self.endpoint.url("/v1/messages");
        let request = self.request(
            reqwest::Method::POST,
            url,
            Some(message_body(model, prompt)),
        )?;
        let reply: MessageReply = self
            .endpoint
            .json(&model.provider_model_id, request)
            .await?;
        Ok(reply.into_generation())
    }

    async fn stream(
        &self,
        model: &ModelSpec,
        prompt: &Prompt,
    ) -> Result<BoxStream<'static, Result<StreamEvent, AiError>>, AiError> {
        let id = model.provider_model_id.clone();
        let mut body = message_body(model, prompt);
        body["stream"] = json!(true);
        let url = self.endpoint.url("/v1/messages");
        let response = self
            .endpoint
            .send(&id, self.request(reqwest::Method::POST, url, Some(body))?)
            .await?;
        let endpoint = self.endpoint.clone();
        let events = sse::events(&self.endpoint, &id, response).filter_map(move |event| {
            let decoded = event.and_then(|event| {
                let data: Value = endpoint.decode(&id, &event.data)?;
                let usage = |v: &Value| {
                    StreamEvent::Usage(Usage {
                        input_tokens: v["input_tokens"].as_u64().unwrap_or(0),
                        output_tokens: v["output_tokens"].as_u64().unwrap_or(0),
                    })
                };
                Ok(match event.event.as_str() {
                    "message_start" => Some(usage(&data["message"]["usage"])),
                    "content_block_delta" => data["delta"]["text"]
                        .as_str()
                        .or_else(|| data["delta"]["partial_json"].as_str())
                        .map(|t| StreamEvent::Text(t.to_owned())),
                    "message_delta" => Some(usage(&data["usage"])),
                    "error" => {
                        let message = data["error"]["message"].as_str().unwrap_or("stream error");
                        return Err(endpoint
                            .malformed(&id, format!("the stream reported an error: {message}")));
                    }
                    _ => None,
                })
            });
            futures::future::ready(decoded.transpose())
        });
        Ok(events.boxed())
    }

    async fn submit_batch(
        &self,
        model: &ModelSpec,
        requests: &[BatchRequest],
    ) -> Result<String, AiError> {
        let requests: Vec<Value> = requests
            .iter()
            .map(|r| json!({"custom_id": r.custom_id, "params": message_body(model, &r.prompt)}))
            .collect();
        let url = self.endpoint.url("/v1/messages/batches");
        let request = self.request(
            reqwest::Method::POST,
            url,
            Some(json!({"requests": requests})),
        )?;
        let batch: WireBatch = self
            .endpoint
            .json(&model.provider_model_id, request)
            .await?;
        Ok(batch.id)
    }

    async fn batch_status(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<BatchStatus, AiError> {
        let batch = self.batch(model, batch_id).await?;
        let counts = &batch.request_counts;
        let state = match batch.processing_status.as_str() {
            "in_progress" | "canceling" => BatchState::Running,
            "ended" if counts.succeeded == 0 && counts.canceled > 0 => BatchState::Cancelled,
            "ended" if counts.succeeded == 0 && counts.expired > 0 => BatchState::Expired,
            "ended" => BatchState::Completed,
            other => {
                return Err(self.endpoint.malformed(
                    &model.provider_model_id,
                    format!("unknown processing_status {other:?}"),
                ));
            }
        };
        let total = counts.processing
            + counts.succeeded
            + counts.errored
            + counts.canceled
            + counts.expired;
        let failed = counts.errored + counts.canceled + counts.expired;
        Ok(BatchStatus {
            state,
            total,
            succeeded: counts.succeeded,
            failed,
        })
    }

    async fn batch_results(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<Vec<BatchItem>, AiError> {
        let id = &model.provider_model_id;
        let batch = self.batch(model, batch_id).await?;
        let url = batch.results_url.ok_or_else(|| {
            self.endpoint
                .malformed(id, format!("batch {batch_id} has no results_url yet"))
        })?;
        let url = if url.starts_with("http") {
            url
        } else {
            self.endpoint.url(&url)
        };
        let body = self
            .endpoint
            .text(id, self.request(reqwest::Method::GET, url, None)?)
            .await?;
        body.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let line: ResultLine = self.endpoint.decode(id, line)?;
                let outcome = match (line.result.kind.as_str(), line.result.message) {
                    ("succeeded", Some(message)) => Ok(message.into_generation()),
                    (kind, _) => Err(line
                        .result
                        .error
                        .map_or_else(|| kind.to_owned(), |e| format!("{kind}: {e}"))),
                };
                Ok(BatchItem {
                    custom_id: line.custom_id,
                    outcome,
                })
            })
            .collect()
    }
}

impl Anthropic {
    async fn batch(&self, model: &ModelSpec, batch_id: &str) -> Result<WireBatch, AiError> {
        let url = self
            .endpoint
            .url(&format!("/v1/messages/batches/{batch_id}"));
        self.endpoint
            .json(
                &model.provider_model_id,
                self.request(reqwest::Method::GET, url, None)?,
            )
            .await
    }
}
