//! [`CollectingEventSink`].

use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Mutex;
use workflow_core::ids::RunId;
use workflow_core::ports::{EventEnvelope, EventError, EventSink, WorkflowEvent};

/// Keeps every delivered event; can be told to fail deliveries for chosen runs.
#[derive(Debug, Default)]
pub struct CollectingEventSink {
    events: Mutex<Vec<EventEnvelope>>,
    failing_runs: Mutex<HashSet<RunId>>,
    max_retries: Option<u32>,
}

impl CollectingEventSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sink whose events go to the dead-letter queue after `max_retries` failures.
    pub fn with_max_retries(max_retries: u32) -> Self {
        CollectingEventSink {
            max_retries: Some(max_retries),
            ..Self::default()
        }
    }

    /// Every event delivered so far.
    pub fn envelopes(&self) -> Vec<EventEnvelope> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every event delivered so far, typed.
    pub fn events(&self) -> Vec<WorkflowEvent> {
        self.envelopes()
            .iter()
            .filter_map(|e| e.event().ok())
            .collect()
    }

    /// The types of the delivered events, in order.
    pub fn event_types(&self) -> Vec<String> {
        self.envelopes().into_iter().map(|e| e.event_type).collect()
    }

    /// Delivered events of one type.
    pub fn of_type(&self, event_type: &str) -> Vec<WorkflowEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.event_type() == event_type)
            .collect()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Makes deliveries of `run_id`'s events fail (`true`) or succeed again (`false`).
    pub fn fail_run(&self, run_id: &str, fail: bool) {
        let mut failing = self.failing_runs.lock().unwrap_or_else(|p| p.into_inner());
        if fail {
            failing.insert(run_id.into());
        } else {
            failing.remove(run_id);
        }
    }
}

#[async_trait]
impl EventSink for CollectingEventSink {
    async fn emit(&self, event: &EventEnvelope) -> Result<(), EventError> {
        if self
            .failing_runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&event.workflow_run_id)
        {
            return Err(EventError(format!(
                "delivery refused for run {}",
                event.workflow_run_id
            )));
        }
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
        Ok(())
    }

    fn max_retries(&self) -> u32 {
        self.max_retries.unwrap_or(3)
    }
}
