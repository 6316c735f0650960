//! [`Gemini`]: Google's Gemini API — `generateContent`, `streamGenerateContent` (SSE),
//! `batchEmbedContents` and batch mode (`batchGenerateContent` with inline requests).

mod batch;

use super::http::{ApiKey, Endpoint};
use super::sse;
use crate::ai::error::AiError;
use crate::ai::models::ModelSpec;
use crate::ai::provider::{
    AiProvider, BatchItem, BatchRequest, BatchStatus, EmbedRequest, Embeddings, Generation, Prompt,
    StreamEvent, Usage,
};
use async_trait::async_trait;
use futures::stream::BoxStream;
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

super::endpoint_settings!(Gemini);

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
        Ok(sse::chunks(
            &self.endpoint,
            &id,
            response,
            |chunk: ContentReply| (Some(chunk.text()), chunk.usage_metadata.map(Usage::from)),
        ))
    }

    async fn submit_batch(
        &self,
        model: &ModelSpec,
        requests: &[BatchRequest],
    ) -> Result<String, AiError> {
        batch::submit(self, model, requests).await
    }

    async fn batch_status(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<BatchStatus, AiError> {
        batch::status(self, model, batch_id).await
    }

    async fn batch_results(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<Vec<BatchItem>, AiError> {
        batch::results(self, model, batch_id).await
    }
}
