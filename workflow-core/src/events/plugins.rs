//! [`PluginRunner`] (`createPluginRunner`) and [`FanOut`].

use crate::ports::{EventEnvelope, EventError, EventSink};
use async_trait::async_trait;
use std::sync::Arc;

/// A handler of some event types.
#[async_trait]
pub trait Plugin: Send + Sync {
    /// A stable identifier (for logs).
    fn id(&self) -> &str;
    /// The event types it handles (`workflow:completed`, ...); empty means all.
    fn event_types(&self) -> &[&str];
    /// Handles one event; an error makes the whole delivery fail and be retried (at least once).
    async fn handle(&self, event: &EventEnvelope) -> Result<(), EventError>;
}

/// Calls every plugin interested in an event, sequentially; the first error stops the delivery, so on the
/// next flush the plugins that already succeeded are called again (at-least-once delivery).
pub struct PluginRunner {
    plugins: Vec<Arc<dyn Plugin>>,
    max_retries: u32,
}

impl PluginRunner {
    /// A runner over `plugins`; an event goes to the dead-letter queue after 3 failed deliveries.
    pub fn new(plugins: Vec<Arc<dyn Plugin>>) -> Self {
        PluginRunner {
            plugins,
            max_retries: 3,
        }
    }

    /// Sets the failed deliveries before the dead-letter queue.
    #[must_use]
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }
}

#[async_trait]
impl EventSink for PluginRunner {
    async fn emit(&self, event: &EventEnvelope) -> Result<(), EventError> {
        for plugin in &self.plugins {
            let types = plugin.event_types();
            if types.is_empty() || types.contains(&event.event_type.as_str()) {
                plugin.handle(event).await.map_err(|error| {
                    EventError(format!(
                        "plugin {} failed on {}: {error}",
                        plugin.id(),
                        event.event_type
                    ))
                })?;
            }
        }
        Ok(())
    }

    fn max_retries(&self) -> u32 {
        self.max_retries
    }
}

/// Delivers to several sinks in order; the first error fails the delivery. Its retry budget is the smallest
/// of its sinks'.
pub struct FanOut(pub Vec<Arc<dyn EventSink>>);

#[async_trait]
impl EventSink for FanOut {
    async fn emit(&self, event: &EventEnvelope) -> Result<(), EventError> {
        for sink in &self.0 {
            sink.emit(event).await?;
        }
        Ok(())
    }

    fn max_retries(&self) -> u32 {
        self.0
            .iter()
            .map(|sink| sink.max_retries())
            .min()
            .unwrap_or(3)
    }
}
