//! The HTTP providers (feature `ai-providers`): [`OpenAiCompatible`] (OpenAI, OpenRouter, local
//! servers), [`Anthropic`] and [`Gemini`], with [`HttpOptions`] for timeouts and retries. Thin clients
//! over `reqwest`, each speaking its provider's own format, so token usage, structured output,
//! embeddings and the batch APIs are all reachable. `https` endpoints need the `ai-tls` feature.

/// `api_key`, `api_key_env` and `options`: the settings every HTTP provider (a struct with an
/// `endpoint: Endpoint` field) offers.
macro_rules! endpoint_settings {
    ($provider:ty) => {
        impl $provider {
            /// Uses `key` instead of the environment.
            #[must_use]
            pub fn api_key(mut self, key: impl Into<String>) -> Self {
                self.endpoint.key = $crate::ai::providers::http::ApiKey::Given(key.into());
                self
            }

            /// Reads the API key from environment variable `name` (at each call) instead.
            #[must_use]
            pub fn api_key_env(mut self, name: &str) -> Self {
                self.endpoint.key = $crate::ai::providers::http::ApiKey::env(&[name]);
                self
            }

            /// Sets timeouts and retries (default [`HttpOptions::default`](crate::ai::providers::HttpOptions)).
            #[must_use]
            pub fn options(mut self, options: $crate::ai::providers::HttpOptions) -> Self {
                self.endpoint.options = options;
                self
            }
        }
    };
}
use endpoint_settings;

mod anthropic;
mod gemini;
mod http;
mod openai;
mod sse;

pub use anthropic::Anthropic;
pub use gemini::Gemini;
pub use http::HttpOptions;
pub use openai::OpenAiCompatible;

use super::setup::Providers;

/// `openai`, `openrouter`, `anthropic` and `gemini` at their default (or `*_BASE_URL`) endpoints.
pub(crate) fn from_env() -> Providers {
    Providers::empty()
        .with("openai", OpenAiCompatible::openai())
        .with("openrouter", OpenAiCompatible::openrouter())
        .with("anthropic", Anthropic::from_env())
        .with("gemini", Gemini::from_env())
}
