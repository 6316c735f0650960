//! [`TextStream`]: a streamed reply that records its usage when it ends.

use super::error::AiError;
use super::helper::{AiHelper, AiReply};
use super::logger::AiCallType;
use super::models::ModelSpec;
use super::provider::{StreamEvent, Usage};
use futures::stream::{BoxStream, Stream, StreamExt};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// The pieces of a streamed reply, as they arrive. When the provider's stream ends, the call is recorded
/// (its `ai_calls` row and the stage's cost) before the stream yields `None`; [`usage`](Self::usage) and
/// [`cost`](Self::cost) are known from then on. A stream dropped early is recorded with the usage
/// reported until then.
pub struct TextStream {
    pieces: BoxStream<'static, Result<String, AiError>>,
    settled: Arc<Mutex<Option<(Usage, f64)>>>,
}

struct Progress {
    helper: AiHelper,
    spec: ModelSpec,
    prompt: String,
    events: BoxStream<'static, Result<StreamEvent, AiError>>,
    text: String,
    usage: Usage,
    settled: Arc<Mutex<Option<(Usage, f64)>>>,
    done: bool,
}

impl TextStream {
    pub(crate) fn new(
        helper: AiHelper,
        spec: ModelSpec,
        prompt: String,
        events: BoxStream<'static, Result<StreamEvent, AiError>>,
    ) -> Self {
        let settled = Arc::new(Mutex::new(None));
        let progress = Progress {
            helper,
            spec,
            prompt,
            events,
            text: String::new(),
            usage: Usage::default(),
            settled: settled.clone(),
            done: false,
        };
        let pieces = futures::stream::unfold(progress, |mut progress| async move {
            if progress.done {
                return None;
            }
            loop {
                match progress.events.next().await {
                    Some(Ok(StreamEvent::Text(piece))) => {
                        progress.text.push_str(&piece);
                        return Some((Ok(piece), progress));
                    }
                    Some(Ok(StreamEvent::Usage(usage))) => merge(&mut progress.usage, usage),
                    Some(Err(error)) => {
                        progress.done = true;
                        progress.fail(&error).await;
                        return Some((Err(error), progress));
                    }
                    None => {
                        progress.done = true;
                        progress.finish().await;
                        return None;
                    }
                }
            }
        });
        TextStream {
            pieces: pieces.boxed(),
            settled,
        }
    }

    /// Tokens billed, once the stream has ended.
    pub fn usage(&self) -> Option<Usage> {
        self.settled().map(|(usage, _)| usage)
    }

    /// USD, once the stream has ended.
    pub fn cost(&self) -> Option<f64> {
        self.settled().map(|(_, cost)| cost)
    }

    /// Reads the stream to its end: the whole text with its usage and cost.
    pub async fn collect_text(mut self) -> Result<AiReply<String>, AiError> {
        let mut text = String::new();
        while let Some(piece) = self.next().await {
            text.push_str(&piece?);
        }
        let (usage, cost) = self.settled().unwrap_or_default();
        Ok(AiReply {
            value: text,
            usage,
            cost,
        })
    }

    fn settled(&self) -> Option<(Usage, f64)> {
        *self.settled.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Stream for TextStream {
    type Item = Result<String, AiError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.pieces.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for TextStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextStream")
            .field("settled", &self.settled())
            .finish_non_exhaustive()
    }
}

/// A later report replaces each count it has (a zero count is "not reported").
fn merge(total: &mut Usage, report: Usage) {
    if report.input_tokens > 0 {
        total.input_tokens = report.input_tokens;
    }
    if report.output_tokens > 0 {
        total.output_tokens = report.output_tokens;
    }
}

impl Progress {
    async fn finish(&mut self) {
        let text = std::mem::take(&mut self.text);
        let cost = self
            .helper
            .record(
                AiCallType::Stream,
                &self.spec,
                &self.prompt,
                text,
                self.usage,
                false,
                None,
            )
            .await;
        *self.settled.lock().unwrap_or_else(|p| p.into_inner()) = Some((self.usage, cost));
    }

    async fn fail(&mut self, error: &AiError) {
        self.helper
            .record_failure(AiCallType::Stream, &self.spec, &self.prompt, error)
            .await;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped before the end: record what was streamed and reported, without blocking the drop.
        let helper = self.helper.clone();
        let spec = self.spec.clone();
        let prompt = std::mem::take(&mut self.prompt);
        let text = std::mem::take(&mut self.text);
        let usage = self.usage;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let meta = serde_json::json!({"streamEnded": false});
            runtime.spawn(async move {
                helper
                    .record(
                        AiCallType::Stream,
                        &spec,
                        &prompt,
                        text,
                        usage,
                        false,
                        Some(meta),
                    )
                    .await;
            });
        }
    }
}
