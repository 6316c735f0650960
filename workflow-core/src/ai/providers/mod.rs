//! The HTTP providers (feature `ai-providers`): [`OpenAiCompatible`] (OpenAI, OpenRouter, local
//! servers), [`Anthropic`] and [`Gemini`], with [`HttpOptions`] for timeouts and retries. Thin clients
//! over `reqwest`, each speaking its provider's own format, so token usage, structured output,
//! embeddings and the batch APIs are all reachable. `https` endpoints need the `ai-tls` feature.

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
