//! Built-in event sinks: [`TracingEventSink`] (logs every event), [`BroadcastEventSink`] (live consumers
//! over a tokio broadcast channel), [`PluginRunner`] (handlers filtered by event type) and [`FanOut`]
//! (several sinks in order).

mod broadcast;
mod plugins;

pub use broadcast::BroadcastEventSink;
pub use plugins::{FanOut, Plugin, PluginRunner};

use crate::ports::{EventEnvelope, EventError, EventSink};
use async_trait::async_trait;

/// Logs every delivered event as a `tracing` event (target `workflow_core::events`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingEventSink;

#[async_trait]
impl EventSink for TracingEventSink {
    async fn emit(&self, event: &EventEnvelope) -> Result<(), EventError> {
        tracing::info!(
            target: "workflow_core::events",
            run_id = %event.workflow_run_id,
            sequence = event.sequence,
            event = %event.event_type,
            payload = %event.payload,
            "event"
        );
        Ok(())
    }
}
