//! [`BroadcastEventSink`].

use crate::ports::{EventEnvelope, EventError, EventSink};
use async_trait::async_trait;
use tokio::sync::broadcast;

/// Publishes every delivered event on a tokio broadcast channel. Delivery never fails: with no subscriber
/// the event is dropped, and a subscriber that lags behind misses events (it sees
/// `RecvError::Lagged`), as broadcast channels do.
///
/// ```
/// use workflow_core::events::BroadcastEventSink;
///
/// let sink = BroadcastEventSink::new(1024);
/// let mut receiver = sink.subscribe();
/// # let _ = &mut receiver;
/// ```
#[derive(Clone, Debug)]
pub struct BroadcastEventSink {
    sender: broadcast::Sender<EventEnvelope>,
}

impl BroadcastEventSink {
    /// A sink whose channel buffers `capacity` events per subscriber.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        BroadcastEventSink { sender }
    }

    /// A new subscriber, receiving events delivered from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EventEnvelope> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl EventSink for BroadcastEventSink {
    async fn emit(&self, event: &EventEnvelope) -> Result<(), EventError> {
        let _ = self.sender.send(event.clone());
        Ok(())
    }
}
