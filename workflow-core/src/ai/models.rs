//! The model registry: which provider serves a model key, under which id, at what price.

use super::error::AiError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One model: the key stage code names, the provider that serves it, and its prices.
///
/// ```
/// use workflow_core::ai::ModelSpec;
///
/// let local = ModelSpec::new("llama-local", "local", "llama3.1:8b").prices(0.0, 0.0);
/// assert_eq!(local.cost(1_000, 1_000, false), 0.0);
///
/// let flash = ModelSpec::new("flash", "openrouter", "google/gemini-2.5-flash")
///     .prices(0.30, 2.50)
///     .batch_discount(50.0);
/// assert!((flash.cost(1_000_000, 1_000_000, false) - 2.80).abs() < 1e-9);
/// assert!((flash.cost(1_000_000, 1_000_000, true) - 1.40).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
    /// What stage code passes (`ctx.ai().generate_text("gemini-2.5-flash", ..)`); stored in
    /// `ai_calls.modelKey`.
    pub key: String,
    /// The name of the provider in [`Providers`](super::Providers) (`openai`, `openrouter`, `anthropic`,
    /// `gemini`, or one you add).
    pub provider: String,
    /// The id the provider's API knows the model by; stored in `ai_calls.modelId`.
    pub provider_model_id: String,
    /// USD per million prompt tokens.
    pub input_price_per_million: f64,
    /// USD per million completion tokens.
    pub output_price_per_million: f64,
    /// Discount on calls through the provider's batch API, in percent (50 for OpenAI, Anthropic and
    /// Google).
    pub batch_discount_percent: f64,
    /// Context window in tokens, when known (informational: requests are not cut to fit).
    pub context_window: Option<u32>,
}

impl ModelSpec {
    /// A model served by `provider` as `provider_model_id`, free until [`prices`](Self::prices) is set,
    /// with no batch discount and no known context window.
    pub fn new(
        key: impl Into<String>,
        provider: impl Into<String>,
        provider_model_id: impl Into<String>,
    ) -> Self {
        ModelSpec {
            key: key.into(),
            provider: provider.into(),
            provider_model_id: provider_model_id.into(),
            input_price_per_million: 0.0,
            output_price_per_million: 0.0,
            batch_discount_percent: 0.0,
            context_window: None,
        }
    }

    /// Sets the prices, USD per million prompt and completion tokens.
    #[must_use]
    pub fn prices(mut self, input_per_million: f64, output_per_million: f64) -> Self {
        self.input_price_per_million = input_per_million;
        self.output_price_per_million = output_per_million;
        self
    }

    /// Sets the batch discount, in percent.
    #[must_use]
    pub fn batch_discount(mut self, percent: f64) -> Self {
        self.batch_discount_percent = percent;
        self
    }

    /// Sets the context window, in tokens.
    #[must_use]
    pub fn context_window(mut self, tokens: u32) -> Self {
        self.context_window = Some(tokens);
        self
    }

    /// The cost of a call in USD: `tokens / 1e6 × price per million`, less the batch discount when `batch`
    /// (the TypeScript engine's formula).
    pub fn cost(&self, input_tokens: u64, output_tokens: u64, batch: bool) -> f64 {
        let full = input_tokens as f64 / 1e6 * self.input_price_per_million
            + output_tokens as f64 / 1e6 * self.output_price_per_million;
        if batch {
            full * (1.0 - self.batch_discount_percent / 100.0)
        } else {
            full
        }
    }
}

/// The models stage code can name, by key. [`ModelRegistry::builtin`] holds a few common ones; register
/// your own (or the same key again, to change a price or route a model elsewhere).
///
/// ```
/// use workflow_core::ai::{ModelRegistry, ModelSpec};
///
/// let models = ModelRegistry::builtin()
///     .register(ModelSpec::new("summarizer", "openai", "gpt-4o-mini").prices(0.15, 0.60));
/// assert_eq!(models.get("summarizer")?.provider_model_id, "gpt-4o-mini");
/// let error = models.get("gpt-9").unwrap_err().to_string();
/// assert!(error.contains("unknown model \"gpt-9\""), "{error}");
/// # Ok::<(), workflow_core::ai::AiError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRegistry {
    models: BTreeMap<String, ModelSpec>,
}

impl ModelRegistry {
    /// No models.
    pub fn empty() -> Self {
        ModelRegistry::default()
    }

    /// The built-in models, priced in USD per million tokens as their providers listed them (check
    /// current prices and override with [`register`](Self::register)):
    ///
    /// | key | provider | id | in / out | batch |
    /// |---|---|---|---|---|
    /// | `gemini-2.5-flash` (the TypeScript engine's default) | `openrouter` | `google/gemini-2.5-flash-preview-09-2025` | 0.30 / 2.50 | 50 % |
    /// | `gemini-2.5-flash-google` | `gemini` | `gemini-2.5-flash` | 0.30 / 2.50 | 50 % |
    /// | `gpt-4o-mini` | `openai` | `gpt-4o-mini` | 0.15 / 0.60 | 50 % |
    /// | `text-embedding-3-small` | `openai` | `text-embedding-3-small` | 0.02 / 0 | 50 % |
    /// | `claude-haiku-4-5` | `anthropic` | `claude-haiku-4-5` | 1.00 / 5.00 | 50 % |
    /// | `gemini-embedding-001` | `gemini` | `gemini-embedding-001` | 0.15 / 0 | 50 % |
    pub fn builtin() -> Self {
        let half = |spec: ModelSpec| spec.batch_discount(50.0);
        ModelRegistry::empty()
            .register(half(
                ModelSpec::new(
                    "gemini-2.5-flash",
                    "openrouter",
                    "google/gemini-2.5-flash-preview-09-2025",
                )
                .prices(0.30, 2.50)
                .context_window(1_048_576),
            ))
            .register(half(
                ModelSpec::new("gemini-2.5-flash-google", "gemini", "gemini-2.5-flash")
                    .prices(0.30, 2.50)
                    .context_window(1_048_576),
            ))
            .register(half(
                ModelSpec::new("gpt-4o-mini", "openai", "gpt-4o-mini")
                    .prices(0.15, 0.60)
                    .context_window(128_000),
            ))
            .register(half(
                ModelSpec::new("text-embedding-3-small", "openai", "text-embedding-3-small")
                    .prices(0.02, 0.0)
                    .context_window(8_191),
            ))
            .register(half(
                ModelSpec::new("claude-haiku-4-5", "anthropic", "claude-haiku-4-5")
                    .prices(1.00, 5.00)
                    .context_window(200_000),
            ))
            .register(half(
                ModelSpec::new("gemini-embedding-001", "gemini", "gemini-embedding-001")
                    .prices(0.15, 0.0)
                    .context_window(2_048),
            ))
    }

    /// Adds `spec`, replacing a model with the same key.
    #[must_use]
    pub fn register(mut self, spec: ModelSpec) -> Self {
        self.models.insert(spec.key.clone(), spec);
        self
    }

    /// The model registered under `key`; [`AiError::UnknownModel`] lists the known keys otherwise.
    pub fn get(&self, key: &str) -> Result<&ModelSpec, AiError> {
        self.models.get(key).ok_or_else(|| AiError::UnknownModel {
            key: key.to_owned(),
            known: self.models.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// Every model, by key.
    pub fn iter(&self) -> impl Iterator<Item = &ModelSpec> {
        self.models.values()
    }
}
