//! [`OpenAiCompatible`]: the OpenAI API shape — chat completions, embeddings, the Batch API — which
//! OpenAI, OpenRouter and local servers (vLLM, llama.cpp, Ollama, LM Studio) speak.

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

/// A provider speaking OpenAI's API at a base URL (`https://api.openai.com/v1` by default).
///
/// ```
/// use workflow_core::ai::providers::OpenAiCompatible;
///
/// let openai = OpenAiCompatible::openai(); // key from OPENAI_API_KEY at call time
/// let local = OpenAiCompatible::new("ollama", "http://127.0.0.1:11434/v1"); // no key
/// let proxy = OpenAiCompatible::new("gateway", "http://10.0.0.5:4000/v1").api_key("sk-...");
/// # let _ = (openai, local, proxy);
/// ```
#[derive(Clone, Debug)]
pub struct OpenAiCompatible {
    endpoint: Endpoint,
}

super::endpoint_settings!(OpenAiCompatible);

impl OpenAiCompatible {
    /// A provider called `name` at `base_url` (the part before `/chat/completions`), without a key.
    pub fn new(name: &str, base_url: &str) -> Self {
        OpenAiCompatible {
            endpoint: Endpoint::new(name, base_url, ApiKey::None),
        }
    }

    /// OpenAI: `OPENAI_BASE_URL` or `https://api.openai.com/v1`, key from `OPENAI_API_KEY`.
    pub fn openai() -> Self {
        let base =
            std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
        OpenAiCompatible {
            endpoint: Endpoint::new("openai", &base, ApiKey::env(&["OPENAI_API_KEY"])),
        }
    }

    /// OpenRouter: `OPENROUTER_BASE_URL` or `https://openrouter.ai/api/v1`, key from
    /// `OPENROUTER_API_KEY`. (OpenRouter's batch API is not OpenAI's; batches go to OpenAI.)
    pub fn openrouter() -> Self {
        let base = std::env::var("OPENROUTER_BASE_URL")
            .unwrap_or_else(|_| "https://openrouter.ai/api/v1".into());
        OpenAiCompatible {
            endpoint: Endpoint::new("openrouter", &base, ApiKey::env(&["OPENROUTER_API_KEY"])),
        }
    }

    fn post(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<impl Fn() -> reqwest::RequestBuilder + '_, AiError> {
        let key = self.endpoint.api_key()?;
        let url = self.endpoint.url(path);
        let body = body.clone();
        Ok(move || {
            self.authorized(self.endpoint.client().post(&url), &key)
                .json(&body)
        })
    }

    fn get(&self, path: &str) -> Result<impl Fn() -> reqwest::RequestBuilder + '_, AiError> {
        let key = self.endpoint.api_key()?;
        let url = self.endpoint.url(path);
        Ok(move || self.authorized(self.endpoint.client().get(&url), &key))
    }

    fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        key: &Option<String>,
    ) -> reqwest::RequestBuilder {
        match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }
}

/// The chat-completions request for `prompt`.
fn chat_body(model: &ModelSpec, prompt: &Prompt) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = &prompt.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": prompt.text}));
    let mut body = json!({"model": model.provider_model_id, "messages": messages});
    if let Some(temperature) = prompt.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(max_tokens) = prompt.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if let Some(schema) = &prompt.schema {
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": {"name": schema.name, "schema": schema.schema, "strict": false},
        });
    }
    body
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    delta: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(usage: WireUsage) -> Self {
        Usage {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
        }
    }
}

impl Completion {
    fn into_generation(self, endpoint: &Endpoint, model: &str) -> Result<Generation, AiError> {
        let text = self
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message)
            .ok_or_else(|| endpoint.malformed(model, "no choices[0].message"))?
            .content
            .unwrap_or_default();
        Ok(Generation {
            text,
            usage: self.usage.map(Usage::from).unwrap_or_default(),
        })
    }
}

#[derive(Deserialize)]
struct EmbeddingList {
    data: Vec<EmbeddingItem>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    #[serde(default)]
    index: usize,
    embedding: Vec<f32>,
}

#[async_trait]
impl AiProvider for OpenAiCompatible {
    async fn generate(&self, model: &ModelSpec, prompt: &Prompt) -> Result<Generation, AiError> {
        let id = &model.provider_model_id;
        let request = self.post("/chat/completions", &chat_body(model, prompt))?;
        let completion: Completion = self.endpoint.json(id, request).await?;
        completion.into_generation(&self.endpoint, id)
    }

    async fn embed(
        &self,
        model: &ModelSpec,
        request: &EmbedRequest,
    ) -> Result<Embeddings, AiError> {
        let id = &model.provider_model_id;
        let mut body = json!({"model": id, "input": request.texts});
        if let Some(dimensions) = request.dimensions {
            body["dimensions"] = json!(dimensions);
        }
        let mut list: EmbeddingList = self
            .endpoint
            .json(id, self.post("/embeddings", &body)?)
            .await?;
        if list.data.len() != request.texts.len() {
            let detail = format!(
                "{} embeddings for {} texts",
                list.data.len(),
                request.texts.len()
            );
            return Err(self.endpoint.malformed(id, detail));
        }
        list.data.sort_by_key(|item| item.index);
        Ok(Embeddings {
            vectors: list.data.into_iter().map(|item| item.embedding).collect(),
            usage: list.usage.map(Usage::from).unwrap_or_default(),
        })
    }

    async fn stream(
        &self,
        model: &ModelSpec,
        prompt: &Prompt,
    ) -> Result<BoxStream<'static, Result<StreamEvent, AiError>>, AiError> {
        let id = model.provider_model_id.clone();
        let mut body = chat_body(model, prompt);
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let response = self
            .endpoint
            .send(&id, self.post("/chat/completions", &body)?)
            .await?;
        Ok(sse::chunks(
            &self.endpoint,
            &id,
            response,
            |chunk: Completion| {
                let text = chunk
                    .choices
                    .into_iter()
                    .next()
                    .and_then(|c| c.delta)
                    .and_then(|d| d.content);
                (text, chunk.usage.map(Usage::from))
            },
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
