//! Server-sent events of a streaming response, as `(event, data)` pairs.

use super::http::Endpoint;
use crate::ai::error::AiError;
use crate::ai::provider::{StreamEvent, Usage};
use eventsource_stream::Eventsource;
use futures::stream::{BoxStream, StreamExt};
use serde::de::DeserializeOwned;

/// One server-sent event: its `event:` name (empty when unnamed) and `data:`.
pub(crate) struct SseEvent {
    pub event: String,
    pub data: String,
}

/// The events of `response`'s body; a broken body ends the stream with [`AiError::Transport`].
pub(crate) fn events(
    endpoint: &Endpoint,
    model: &str,
    response: reqwest::Response,
) -> BoxStream<'static, Result<SseEvent, AiError>> {
    let provider = endpoint.provider.clone();
    let model = model.to_owned();
    response
        .bytes_stream()
        .eventsource()
        .map(move |event| match event {
            Ok(event) => Ok(SseEvent {
                event: event.event,
                data: event.data,
            }),
            Err(error) => Err(AiError::Transport {
                provider: provider.clone(),
                model: model.clone(),
                detail: format!("the event stream broke: {error}"),
            }),
        })
        .boxed()
}

/// The events of `response` as JSON chunks `C` (OpenAI's and Gemini's streams), each split into its text
/// and usage by `split`; an empty text is skipped. OpenAI's closing `data: [DONE]` ends the stream.
pub(crate) fn chunks<C, F>(
    endpoint: &Endpoint,
    model: &str,
    response: reqwest::Response,
    split: F,
) -> BoxStream<'static, Result<StreamEvent, AiError>>
where
    C: DeserializeOwned,
    F: Fn(C) -> (Option<String>, Option<Usage>) + Send + 'static,
{
    let decoder = endpoint.clone();
    let model = model.to_owned();
    events(endpoint, &model, response)
        .take_while(|event| {
            let done = matches!(event, Ok(e) if e.data.trim() == "[DONE]");
            futures::future::ready(!done)
        })
        .flat_map(move |event| {
            let decoded: Vec<Result<StreamEvent, AiError>> =
                match event.and_then(|event| decoder.decode::<C>(&model, &event.data)) {
                    Err(error) => vec![Err(error)],
                    Ok(chunk) => {
                        let (text, usage) = split(chunk);
                        let text = text.filter(|t| !t.is_empty()).map(StreamEvent::Text);
                        text.into_iter()
                            .chain(usage.map(StreamEvent::Usage))
                            .map(Ok)
                            .collect()
                    }
                };
            futures::stream::iter(decoded)
        })
        .boxed()
}
