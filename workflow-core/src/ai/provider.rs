//! The [`AiProvider`] port and the provider-neutral requests and answers it speaks. The HTTP providers
//! ([`providers`](super::providers)) implement it; so can a test double or an in-process model.

use super::error::AiError;
use super::models::ModelSpec;
use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What to ask a model: the prompt, an optional system instruction and sampling settings. A `&str` or
/// `String` converts into a prompt with no settings.
///
/// ```
/// use workflow_core::ai::Prompt;
///
/// let prompt = Prompt::new("Summarize: ...").system("You are terse.").max_tokens(200).temperature(0.2);
/// assert_eq!(prompt.max_tokens, Some(200));
/// let plain: Prompt = "Hello".into();
/// assert_eq!(plain.text, "Hello");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prompt {
    /// The user message.
    pub text: String,
    /// The system instruction, if any.
    pub system: Option<String>,
    /// Sampling temperature (provider default when unset).
    pub temperature: Option<f32>,
    /// Most completion tokens (provider default when unset; Anthropic requires one and gets 4,096).
    pub max_tokens: Option<u32>,
    /// For structured output: the JSON Schema the reply must follow (set by `generate_object`).
    pub schema: Option<OutputSchema>,
}

impl Prompt {
    /// A prompt with `text` as the user message.
    pub fn new(text: impl Into<String>) -> Self {
        Prompt {
            text: text.into(),
            ..Prompt::default()
        }
    }

    /// Sets the system instruction.
    #[must_use]
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the sampling temperature.
    #[must_use]
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the most completion tokens.
    #[must_use]
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Takes the temperature and token limit of a stage's model settings (the `AIConfigSchema` preset);
    /// pass `settings.model` as the model key.
    ///
    /// ```
    /// use workflow_core::ai::Prompt;
    /// use workflow_core::presets::AiConfig;
    ///
    /// let settings = AiConfig { max_tokens: Some(300), ..AiConfig::default() };
    /// let prompt = Prompt::new("Summarize: ...").settings(&settings);
    /// assert_eq!((prompt.temperature, prompt.max_tokens), (Some(0.7), Some(300)));
    /// ```
    #[must_use]
    pub fn settings(mut self, settings: &crate::presets::AiConfig) -> Self {
        self.temperature = Some(settings.temperature as f32);
        self.max_tokens = settings.max_tokens.or(self.max_tokens);
        self
    }
}

impl From<&str> for Prompt {
    fn from(text: &str) -> Self {
        Prompt::new(text)
    }
}

impl From<String> for Prompt {
    fn from(text: String) -> Self {
        Prompt::new(text)
    }
}

impl From<&String> for Prompt {
    fn from(text: &String) -> Self {
        Prompt::new(text.clone())
    }
}

/// The JSON Schema a structured reply must follow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSchema {
    /// A name for it (the Rust type's schema name): OpenAI's `json_schema.name`, Anthropic's tool name.
    pub name: String,
    /// The schema (JSON Schema 2020-12 from schemars, without `$schema`).
    pub schema: Value,
}

/// Tokens a provider billed for a call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

impl Usage {
    /// Prompt plus completion tokens.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

/// A provider's answer to a prompt.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Generation {
    /// The reply text (for structured output, the JSON text of the object).
    pub text: String,
    /// What it cost in tokens.
    pub usage: Usage,
}

/// Texts to embed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmbedRequest {
    /// The texts, in order.
    pub texts: Vec<String>,
    /// Requested vector size, for models that can shorten theirs (provider default when unset).
    pub dimensions: Option<u32>,
}

impl EmbedRequest {
    /// The texts to embed, at the model's default size.
    pub fn new<S: Into<String>>(texts: impl IntoIterator<Item = S>) -> Self {
        EmbedRequest {
            texts: texts.into_iter().map(Into::into).collect(),
            dimensions: None,
        }
    }

    /// Asks for vectors of `dimensions` numbers (models that support shortening: OpenAI's
    /// `text-embedding-3-*`, Gemini's `outputDimensionality`).
    #[must_use]
    pub fn dimensions(mut self, dimensions: u32) -> Self {
        self.dimensions = Some(dimensions);
        self
    }
}

impl From<&str> for EmbedRequest {
    fn from(text: &str) -> Self {
        EmbedRequest::new([text])
    }
}

impl From<String> for EmbedRequest {
    fn from(text: String) -> Self {
        EmbedRequest::new([text])
    }
}

impl<S: Into<String>> From<Vec<S>> for EmbedRequest {
    fn from(texts: Vec<S>) -> Self {
        EmbedRequest::new(texts)
    }
}

impl<S: Into<String>, const N: usize> From<[S; N]> for EmbedRequest {
    fn from(texts: [S; N]) -> Self {
        EmbedRequest::new(texts)
    }
}

/// A provider's embeddings, one vector per text in the request's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Embeddings {
    /// The vectors.
    pub vectors: Vec<Vec<f32>>,
    /// What it cost in tokens (Gemini reports none: zero).
    pub usage: Usage,
}

/// One piece of a streamed reply.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// More reply text.
    Text(String),
    /// Usage so far; a later report replaces each count it has (providers report the prompt at the start
    /// and the completion at the end, or everything at the end).
    Usage(Usage),
}

/// One prompt of a batch, with the id its result comes back under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequest {
    /// Unique within the batch; results are matched by it.
    pub custom_id: String,
    /// The prompt.
    pub prompt: Prompt,
}

impl BatchRequest {
    /// A request under `custom_id`.
    pub fn new(custom_id: impl Into<String>, prompt: impl Into<Prompt>) -> Self {
        BatchRequest {
            custom_id: custom_id.into(),
            prompt: prompt.into(),
        }
    }
}

/// Where a provider batch stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchState {
    /// Accepted, not started (OpenAI `validating`, Gemini `PENDING`).
    Pending,
    /// Being processed.
    Running,
    /// Done: results can be read.
    Completed,
    /// The batch as a whole failed.
    Failed,
    /// Cancelled before it finished.
    Cancelled,
    /// Not finished within the provider's window.
    Expired,
}

impl BatchState {
    /// Whether the batch will not change any more.
    pub fn is_finished(self) -> bool {
        !matches!(self, BatchState::Pending | BatchState::Running)
    }
}

/// A batch's state and counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchStatus {
    /// Its state.
    pub state: BatchState,
    /// Requests in the batch (0 when the provider does not say).
    pub total: u64,
    /// Requests that succeeded so far.
    pub succeeded: u64,
    /// Requests that failed so far.
    pub failed: u64,
}

/// The answer to one request of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchItem {
    /// The request's `custom_id`.
    pub custom_id: String,
    /// The reply, or the provider's error for this request.
    pub outcome: Result<Generation, String>,
}

/// A model provider. Implement it to serve models from somewhere the built-in HTTP providers do not reach
/// (an in-process model, a test double); register it with [`Providers::with`](super::Providers::with).
/// Every method gets the model's spec (send [`ModelSpec::provider_model_id`]); kinds of call a provider
/// does not offer keep the default, which returns [`AiError::Unsupported`].
#[async_trait]
pub trait AiProvider: Send + Sync {
    /// A text (or, with `prompt.schema`, a JSON) reply.
    async fn generate(&self, model: &ModelSpec, prompt: &Prompt) -> Result<Generation, AiError>;

    /// Embeddings of `request.texts`.
    async fn embed(
        &self,
        model: &ModelSpec,
        request: &EmbedRequest,
    ) -> Result<Embeddings, AiError> {
        let _ = request;
        Err(unsupported(model, "embeddings"))
    }

    /// A reply as a stream of text pieces and usage reports.
    async fn stream(
        &self,
        model: &ModelSpec,
        prompt: &Prompt,
    ) -> Result<BoxStream<'static, Result<StreamEvent, AiError>>, AiError> {
        let _ = prompt;
        Err(unsupported(model, "streaming"))
    }

    /// Submits a batch; returns the provider's batch id.
    async fn submit_batch(
        &self,
        model: &ModelSpec,
        requests: &[BatchRequest],
    ) -> Result<String, AiError> {
        let _ = requests;
        Err(unsupported(model, "batches"))
    }

    /// The state of batch `batch_id`.
    async fn batch_status(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<BatchStatus, AiError> {
        let _ = batch_id;
        Err(unsupported(model, "batches"))
    }

    /// The answers of finished batch `batch_id`.
    async fn batch_results(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<Vec<BatchItem>, AiError> {
        let _ = batch_id;
        Err(unsupported(model, "batches"))
    }
}

fn unsupported(model: &ModelSpec, what: &'static str) -> AiError {
    AiError::Unsupported {
        provider: model.provider.clone(),
        model: model.key.clone(),
        what,
    }
}
