//! Server-sent events of a streaming response, as `(event, data)` pairs.

use super::http::Endpoint;
use crate::ai::error::AiError;
use eventsource_stream::Eventsource;
use futures::stream::{BoxStream, StreamExt};

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
