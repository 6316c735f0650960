//! [`Gemini`]: Google's Gemini API — `generateContent`, `streamGenerateContent` (SSE),
//! `batchEmbedContents` and batch mode (`batchGenerateContent` with inline requests).

use super::http::{ApiKey, Endpoint, HttpOptions};
use super::sse;
use crate::ai::error::AiError;
use crate::ai::models::ModelSpec;
use crate::ai::provider::{
    AiProvider, BatchItem, BatchRequest, BatchState, BatchStatus, EmbedRequest, Embeddings,
    Generation, Prompt, StreamEvent, Usage,
};
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

/// Google's Gemini API (`GEMINI_BASE_URL` or `https://generativelanguage.googleapis.com`, key from
/// `GEMINI_API_KEY` or `GOOGLE_API_KEY`). Thinking tokens count as output tokens, as Google bills them.
///
/// ```
/// use workflow_core::ai::providers::Gemini;
///
/// let gemini = Gemini::from_env();
/// # let _ = gemini;
/// ```
#[derive(Clone, Debug)]
pub struct Gemini {
    endpoint: Endpoint,
}

impl Gemini {
    /// The API at `base_url` (the part before `/v1beta`), key from the environment.
    pub fn new(base_url: &str) -> Self {
        let key = ApiKey::env(&["GEMINI_API_KEY", "GOOGLE_API_KEY"]);
        Gemini {
            endpoint: Endpoint::new("gemini", base_url, key),
        }
    }

    /// `GEMINI_BASE_URL` or `https://generativelanguage.googleapis.com`.
    pub fn from_env() -> Self {
        let base = std::env::var("GEMINI_BASE_URL")
            .unwrap_or_else(|_| "https://generativelanguage.googleapis.com".into());
        Gemini::new(&base)
    }

    /// Uses `key` instead of the environment.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.endpoint.key = ApiKey::Given(key.into());
        self
    }

    /// Reads the API key from environment variable `name` (at each call) instead.
    #[must_use]
    pub fn api_key_env(mut self, name: &str) -> Self {
        self.endpoint.key = ApiKey::env(&[name]);
        self
    }

    /// Sets timeouts and retries.
    #[must_use]
    pub fn options(mut self, options: HttpOptions) -> Self {
        self.endpoint.options = options;
        self
    }

    fn request(
        &self,
        path: &str,
        body: Option<Value>,
    ) -> Result<impl Fn() -> reqwest::RequestBuilder + '_, AiError> {
        let key = self.endpoint.api_key()?.unwrap_or_default();
        let url = self.endpoint.url(path);
        Ok(move || {
            let client = self.endpoint.client();
            let request = match &body {
                Some(body) => client.post(&url).json(body),
                None => client.get(&url),
            };
            request.header("x-goog-api-key", &key)
        })
    }
}

/// The `generateContent` request for `prompt`.
fn content_body(prompt: &Prompt) -> Value {
    let mut body = json!({"contents": [{"role": "user", "parts": [{"text": prompt.text}]}]});
    if let Some(system) = &prompt.system {
        body["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    let mut config = serde_json::Map::new();
    if let Some(temperature) = prompt.temperature {
        config.insert("temperature".into(), json!(temperature));
    }
    if let Some(max_tokens) = prompt.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max_tokens));
    }
    if let Some(schema) = &prompt.schema {
        config.insert("responseMimeType".into(), json!("application/json"));
        config.insert("responseJsonSchema".into(), schema.schema.clone());
    }
    if !config.is_empty() {
        body["generationConfig"] = Value::Object(config);
    }
    body
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentReply {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Deserialize)]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thought: Option<bool>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
}

impl From<UsageMetadata> for Usage {
    fn from(usage: UsageMetadata) -> Self {
        Usage {
            input_tokens: usage.prompt_token_count,
            output_tokens: usage.candidates_token_count + usage.thoughts_token_count,
        }
    }
}

impl ContentReply {
    /// The first candidate's text parts (thoughts left out).
    fn text(&self) -> String {
        let parts = self
            .candidates
            .first()
            .and_then(|c| c.content.as_ref())
            .map(|c| c.parts.as_slice());
        parts
            .unwrap_or_default()
            .iter()
            .filter(|p| p.thought != Some(true))
            .filter_map(|p| p.text.as_deref())
            .collect()
    }

    fn into_generation(self) -> Generation {
        Generation {
            text: self.text(),
            usage: self.usage_metadata.map(Usage::from).unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct EmbedReply {
    embeddings: Vec<EmbedValues>,
    #[serde(default, rename = "usageMetadata")]
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Deserialize)]
struct EmbedValues {
    values: Vec<f32>,
}

/// A batch operation as `GET /v1beta/batches/{id}` returns it.
#[derive(Deserialize)]
struct Operation {
    name: String,
    #[serde(default)]
    metadata: Value,
    #[serde(default)]
    response: Value,
}

#[async_trait]
impl AiProvider for Gemini {
    async fn generate(&self, model: &ModelSpec, prompt: &Prompt) -> Result<Generation, AiError> {
        let id = &model.provider_model_id;
        let request = self.request(
            &format!("/v1beta/models/{id}:generateContent"),
            Some(content_body(prompt)),
        )?;
        let reply: ContentReply = self.endpoint.json(id, request).await?;
        if reply.candidates.is_empty() {
            return Err(self
                .endpoint
                .malformed(id, "no candidates (the prompt may have been blocked)"));
        }
        Ok(reply.into_generation())
    }

    async fn embed(
        &self,
        model: &ModelSpec,
        request: &EmbedRequest,
    ) -> Result<Embeddings, AiError> {
        let id = &model.provider_model_id;
        let requests: Vec<Value> = request
            .texts
            .iter()
            .map(|text| {
                let mut one = json!({"model": format!("models/{id}"), "content": {"parts": [{"text": text}]}});
                if let Some(dimensions) = request.dimensions {
                    one["outputDimensionality"] = json!(dimensions);
                }
                one
            })
            .collect();
        let path = format!("/v1beta/models/{id}:batchEmbedContents");
        let reply: EmbedReply = self
            .endpoint
            .json(
                id,
                self.request(&path, Some(json!({"requests": requests})))?,
            )
            .await?;
        if reply.embeddings.len() != request.texts.len() {
            let detail = format!(
                "{} embeddings for {} texts",
                reply.embeddings.len(),
                request.texts.len()
            );
            return Err(self.endpoint.malformed(id, detail));
        }
        Ok(Embeddings {
            vectors: reply.embeddings.into_iter().map(|e| e.values).collect(),
            usage: reply.usage_metadata.map(Usage::from).unwrap_or_default(),
        })
    }

    async fn stream(
        &self,
        model: &ModelSpec,
        prompt: &Prompt,
    ) -> Result<BoxStream<'static, Result<StreamEvent, AiError>>, AiError> {
        let id = model.provider_model_id.clone();
        let path = format!("/v1beta/models/{id}:streamGenerateContent?alt=sse");
        let response = self
            .endpoint
            .send(&id, self.request(&path, Some(content_body(prompt)))?)
            .await?;
        let endpoint = self.endpoint.clone();
        let events = sse::events(&self.endpoint, &id, response).flat_map(move |event| {
            let decoded: Vec<Result<StreamEvent, AiError>> =
                match event.and_then(|event| endpoint.decode::<ContentReply>(&id, &event.data)) {
                    Err(error) => vec![Err(error)],
                    Ok(chunk) => {
                        let text = chunk.text();
                        let mut out = Vec::new();
                        if !text.is_empty() {
                            out.push(Ok(StreamEvent::Text(text)));
                        }
                        if let Some(usage) = chunk.usage_metadata {
                            out.push(Ok(StreamEvent::Usage(usage.into())));
                        }
                        out
                    }
                };
            futures::stream::iter(decoded)
        });
        Ok(events.boxed())
    }

    async fn submit_batch(
        &self,
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
        let operation: Operation = self
            .endpoint
            .json(id, self.request(&path, Some(body))?)
            .await?;
        Ok(operation.name)
    }

    async fn batch_status(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<BatchStatus, AiError> {
        let id = &model.provider_model_id;
        let operation = self.operation(id, batch_id).await?;
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
                return Err(self
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

    async fn batch_results(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<Vec<BatchItem>, AiError> {
        let id = &model.provider_model_id;
        let operation = self.operation(id, batch_id).await?;
        let inlined = &operation.response["inlinedResponses"];
        let responses = inlined["inlinedResponses"]
            .as_array()
            .or_else(|| inlined.as_array());
        let responses = responses.ok_or_else(|| {
            self.endpoint.malformed(
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
                            self.endpoint
                                .malformed(id, format!("inlined response {index}: {e}"))
                        })?;
                    Ok(reply.into_generation())
                };
                Ok(BatchItem { custom_id, outcome })
            })
            .collect()
    }
}

impl Gemini {
    async fn operation(&self, model_id: &str, batch_id: &str) -> Result<Operation, AiError> {
        let name = if batch_id.starts_with("batches/") {
            batch_id.to_owned()
        } else {
            format!("batches/{batch_id}")
        };
        self.endpoint
            .json(model_id, self.request(&format!("/v1beta/{name}"), None)?)
            .await
    }
}
