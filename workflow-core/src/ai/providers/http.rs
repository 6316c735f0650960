//! What the HTTP providers share: endpoint and key, per-attempt timeouts, bounded retries with backoff on
//! 429 and 5xx that honour `Retry-After`, and errors naming the provider, model and status.

use crate::ai::error::AiError;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Timeouts and retries of an HTTP provider.
///
/// ```
/// use std::time::Duration;
/// use workflow_core::ai::providers::HttpOptions;
///
/// let patient = HttpOptions { timeout: Duration::from_secs(300), ..HttpOptions::default() };
/// assert_eq!(patient.max_retries, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    /// Longest wait for one attempt's answer (for streams: for the response to begin). Default 60 s.
    pub timeout: Duration,
    /// Retries after a 429, a 5xx, a timeout or a dropped connection; other errors are not retried.
    /// Default 3 (so at most 4 attempts).
    pub max_retries: u32,
    /// Wait before the first retry, doubled each retry (with jitter) when the provider sends no
    /// `Retry-After`. Default 500 ms.
    pub initial_backoff: Duration,
    /// Longest wait between attempts; a `Retry-After` asking for more ends the retries. Default 30 s.
    pub max_backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(60),
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Where an API key comes from.
#[derive(Clone, Debug)]
pub(crate) enum ApiKey {
    /// The first of these environment variables that is set, read at each call.
    Env(Vec<String>),
    /// This key.
    Given(String),
    /// No key (a local server).
    None,
}

impl ApiKey {
    pub(crate) fn env(names: &[&str]) -> Self {
        ApiKey::Env(names.iter().map(|name| (*name).to_owned()).collect())
    }
}

/// One provider's base URL, key, client and options.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub provider: String,
    pub base_url: String,
    pub key: ApiKey,
    pub options: HttpOptions,
    /// Built at the first request: every kernel builds the default providers, most never call them.
    client: Arc<OnceLock<reqwest::Client>>,
}

impl Endpoint {
    pub(crate) fn new(provider: &str, base_url: &str, key: ApiKey) -> Self {
        Endpoint {
            provider: provider.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key,
            options: HttpOptions::default(),
            client: Arc::default(),
        }
    }

    /// `base_url` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The API key, if this endpoint uses one; [`AiError::MissingApiKey`] if it should and none is set.
    pub(crate) fn api_key(&self) -> Result<Option<String>, AiError> {
        match &self.key {
            ApiKey::Given(key) => Ok(Some(key.clone())),
            ApiKey::None => Ok(None),
            ApiKey::Env(names) => names
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
                .map(Some)
                .ok_or_else(|| AiError::MissingApiKey {
                    provider: self.provider.clone(),
                    env_var: names.join(" or "),
                }),
        }
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        self.client.get_or_init(reqwest::Client::new)
    }

    /// Sends the request `build` makes (again for each attempt) until it succeeds, fails in a way not
    /// worth retrying, or the retries run out; returns the successful response with its body unread.
    pub(crate) async fn send(
        &self,
        model: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, AiError> {
        if self.base_url.starts_with("https:") && !cfg!(feature = "ai-tls") {
            return Err(AiError::TlsNotCompiledIn {
                provider: self.provider.clone(),
                url: self.base_url.clone(),
            });
        }
        let mut attempt = 0;
        loop {
            let failure = match tokio::time::timeout(self.options.timeout, build().send()).await {
                Err(_) => Failure::retry(self.timeout(model), None),
                Ok(Err(error))
                    if error.is_connect() || error.is_timeout() || error.is_request() =>
                {
                    Failure::retry(self.transport(model, &error), None)
                }
                Ok(Err(error)) => Failure::fatal(self.transport(model, &error)),
                Ok(Ok(response)) if response.status().is_success() => return Ok(response),
                Ok(Ok(response)) => self.http_failure(model, response).await,
            };
            let wait = match failure.retry_after {
                Some(wait) => wait,
                None => backoff(self.options.initial_backoff, attempt),
            };
            if !failure.retryable
                || attempt >= self.options.max_retries
                || wait > self.options.max_backoff
            {
                return Err(failure.error);
            }
            tracing::debug!(provider = %self.provider, model, attempt, ?wait, error = %failure.error, "retrying an AI call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// [`send`](Self::send), then the body decoded as `T` (within the timeout).
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        model: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, AiError> {
        let body = self.text(model, build).await?;
        self.decode(model, &body)
    }

    /// [`send`](Self::send), then the body as text (within the timeout).
    pub(crate) async fn text(
        &self,
        model: &str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<String, AiError> {
        let response = self.send(model, build).await?;
        match tokio::time::timeout(self.options.timeout, response.text()).await {
            Err(_) => Err(self.timeout(model)),
            Ok(Err(error)) => Err(self.transport(model, &error)),
            Ok(Ok(body)) => Ok(body),
        }
    }

    /// `body` as `T`; [`AiError::Decode`] names the field that did not fit.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        model: &str,
        body: &str,
    ) -> Result<T, AiError> {
        let mut deserializer = serde_json::Deserializer::from_str(body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            self.malformed(model, format!("at `{}`: {}", error.path(), error.inner()))
        })
    }

    pub(crate) fn malformed(&self, model: &str, detail: impl Into<String>) -> AiError {
        AiError::Decode {
            provider: self.provider.clone(),
            model: model.to_owned(),
            detail: detail.into(),
        }
    }

    fn timeout(&self, model: &str) -> AiError {
        AiError::Timeout {
            provider: self.provider.clone(),
            model: model.to_owned(),
            after: self.options.timeout,
        }
    }

    fn transport(&self, model: &str, error: &reqwest::Error) -> AiError {
        let mut detail = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            detail.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        AiError::Transport {
            provider: self.provider.clone(),
            model: model.to_owned(),
            detail,
        }
    }

    async fn http_failure(&self, model: &str, response: Response) -> Failure {
        let status = response.status();
        let retry_after = retry_after(&response);
        let body = response.text().await.unwrap_or_default();
        let error = AiError::Http {
            provider: self.provider.clone(),
            model: model.to_owned(),
            status: status.as_u16(),
            message: error_message(&body),
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Failure::retry(error, retry_after)
        } else {
            Failure::fatal(error)
        }
    }
}

struct Failure {
    error: AiError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn retry(error: AiError, retry_after: Option<Duration>) -> Self {
        Failure {
            error,
            retryable: true,
            retry_after,
        }
    }

    fn fatal(error: AiError) -> Self {
        Failure {
            error,
            retryable: false,
            retry_after: None,
        }
    }
}

/// `initial × 2^attempt`, between half and all of it (jitter).
fn backoff(initial: Duration, attempt: u32) -> Duration {
    let full = initial.saturating_mul(2u32.saturating_pow(attempt.min(16)));
    let millis = full.as_millis().min(u128::from(u64::MAX)) as u64;
    Duration::from_millis(millis / 2 + rand::random_range(0..=millis - millis / 2))
}

/// `retry-after-ms` (OpenAI), or `Retry-After` in seconds or as an HTTP date.
fn retry_after(response: &Response) -> Option<Duration> {
    let header = |name: &str| response.headers().get(name)?.to_str().ok().map(str::trim);
    if let Some(millis) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(Duration::from_secs_f64(millis.max(0.0) / 1000.0));
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return Some(Duration::from_secs_f64(seconds.max(0.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or_default())
}

/// The provider's `error.message` (OpenAI, Anthropic and Gemini all answer `{"error": {"message"}}`), or
/// the start of the body.
fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let error = v.get("error")?;
        error
            .get("message")
            .and_then(|m| m.as_str())
            .or_else(|| error.as_str())
            .map(str::to_owned)
    });
    message.unwrap_or_else(|| {
        let text: String = body.chars().take(300).collect();
        if text.is_empty() {
            "(empty body)".into()
        } else {
            text
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_messages_come_from_the_body() {
        for attempt in 0..4 {
            let full = 100u64 << attempt;
            let wait = backoff(Duration::from_millis(100), attempt).as_millis() as u64;
            assert!(
                (full / 2..=full).contains(&wait),
                "attempt {attempt}: {wait}"
            );
        }
        assert_eq!(
            error_message(r#"{"error":{"message":"Rate limit","type":"x"}}"#),
            "Rate limit"
        );
        assert_eq!(error_message(r#"{"error":"quota"}"#), "quota");
        assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
        assert_eq!(error_message(""), "(empty body)");
    }
}
