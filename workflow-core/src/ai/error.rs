//! [`AiError`]: why a model call failed, naming the model, the provider and (for HTTP failures) the status.

use crate::ports::StoreError;
use std::time::Duration;

/// Why an AI call failed. Every variant names what is needed to act on it: the model key, the provider,
/// and for HTTP failures the status and the provider's own message.
///
/// Stage code can return it with `?` (it converts into a `StageError`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AiError {
    /// The model key is not in the [`ModelRegistry`](super::ModelRegistry).
    #[error(
        "unknown model {key:?}: register it with ModelRegistry::register (known models: {known})"
    )]
    UnknownModel {
        /// The key asked for.
        key: String,
        /// The registered keys, comma-separated.
        known: String,
    },
    /// The model's provider is not among the configured [`Providers`](super::Providers).
    #[error(
        "model {model:?} uses provider {provider:?}, which is not configured (configured: {configured}); add it with Providers::with"
    )]
    UnknownProvider {
        /// The model key.
        model: String,
        /// The provider its spec names.
        provider: String,
        /// The configured provider names, comma-separated.
        configured: String,
    },
    /// The provider needs an API key and none was given or found in the environment.
    #[error("provider {provider} has no API key: set {env_var} or give the key to the provider")]
    MissingApiKey {
        /// The provider.
        provider: String,
        /// The environment variable it reads.
        env_var: String,
    },
    /// The provider answered with an HTTP error (after the retries, for 429 and 5xx).
    #[error("{provider} model {model}: HTTP {status}: {message}")]
    Http {
        /// The provider.
        provider: String,
        /// The provider's model id.
        model: String,
        /// The HTTP status code.
        status: u16,
        /// The provider's error message (or the start of the body).
        message: String,
    },
    /// No answer within the provider's timeout (after the retries).
    #[error("{provider} model {model}: no answer within {after:?} (timeout)")]
    Timeout {
        /// The provider.
        provider: String,
        /// The provider's model id.
        model: String,
        /// The timeout of one attempt.
        after: Duration,
    },
    /// The request could not be sent or the answer not read (connection refused, reset, bad URL).
    #[error("{provider} model {model}: request failed: {detail}")]
    Transport {
        /// The provider.
        provider: String,
        /// The provider's model id.
        model: String,
        /// What went wrong.
        detail: String,
    },
    /// The provider's answer does not have the shape its API documents.
    #[error("{provider} model {model}: unexpected response: {detail}")]
    Decode {
        /// The provider.
        provider: String,
        /// The provider's model id.
        model: String,
        /// What was missing or malformed.
        detail: String,
    },
    /// `generate_object` got a reply that does not deserialize into the requested type.
    #[error(
        "model {model} replied with a {type_name} that does not match its schema: at `{path}`: {detail}"
    )]
    InvalidObject {
        /// The model key.
        model: String,
        /// The Rust type asked for.
        type_name: String,
        /// The path of the offending field (`.` for the whole value).
        path: String,
        /// What serde said about it.
        detail: String,
        /// The model's reply, as received.
        reply: String,
    },
    /// The provider does not offer this kind of call (for example embeddings on Anthropic).
    #[error("provider {provider} does not support {what} (model {model})")]
    Unsupported {
        /// The provider.
        provider: String,
        /// The model key.
        model: String,
        /// The kind of call.
        what: &'static str,
    },
    /// The provider's URL is `https` and this build has no TLS.
    #[error(
        "provider {provider} uses {url}, but this build has no TLS: enable workflow-core's `ai-tls` feature"
    )]
    TlsNotCompiledIn {
        /// The provider.
        provider: String,
        /// Its base URL.
        url: String,
    },
    /// The helper has no `ai_calls` log to write to (a custom store without one and no logger given).
    #[error(
        "this AI helper has no call log: give the kernel a store with an ai_calls table or build the helper with AiHelper::new"
    )]
    NoCallLog,
    /// Reading `ai_calls` failed.
    #[error("reading ai_calls failed: {0}")]
    Store(#[from] StoreError),
}
