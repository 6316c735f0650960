//! `outbox.flush` and `plugin.replayDLQ` (reference §5.10–§5.11).

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::kernel::{OutboxFlush, PluginReplayDlq};

async fn flush(h: &Harness) -> usize {
    h.kernel
        .dispatch(OutboxFlush::default())
        .await
        .unwrap()
        .published
}

/// Events are delivered in sequence order per run, once, and marked published.
pub async fn events_are_delivered_in_order_once(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let a = h.create("conformance-linear", json!({})).await;
    let b = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    assert_eq!(flush(&h).await, 4);
    assert_eq!(
        flush(&h).await,
        0,
        "published events are not delivered again"
    );
    let delivered = h.events.envelopes();
    for run in [&a, &b] {
        let sequences: Vec<i32> = delivered
            .iter()
            .filter(|e| &e.workflow_run_id == run)
            .map(|e| e.sequence)
            .collect();
        assert_eq!(sequences, [1, 2]);
    }
    assert!(
        h.outbox(&a)
            .await
            .iter()
            .all(|e| e.published_at == Some(h.clock_now()))
    );
    let event = h
        .events
        .events()
        .into_iter()
        .find(|e| e.workflow_run_id == a)
        .unwrap();
    assert_eq!(event.event_type(), "workflow:created");
}

/// A failing delivery holds back later events of its run (other runs continue), counts retries, and moves
/// the event to the dead-letter queue after the sink's retry budget; a replay returns it.
pub async fn failing_deliveries_go_to_the_dead_letter_queue(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let blocked = h.create("conformance-linear", json!({})).await;
    let healthy = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    h.events.fail_run(&blocked, true);
    assert_eq!(flush(&h).await, 2, "the healthy run's events go through");
    let rows = h.outbox(&blocked).await;
    assert_eq!(
        (rows[0].retry_count, rows[0].dlq_at, rows[1].retry_count),
        (1, None, 0),
        "later events wait"
    );
    flush(&h).await;
    flush(&h).await;
    let rows = h.outbox(&blocked).await;
    assert_eq!(
        (rows[0].retry_count, rows[0].dlq_at),
        (3, Some(h.clock_now()))
    );
    assert_eq!(rows[0].published_at, None);
    h.events.fail_run(&blocked, false);
    assert_eq!(
        flush(&h).await,
        1,
        "a dead-lettered event no longer blocks its run"
    );
    assert_eq!(
        h.kernel
            .dispatch(PluginReplayDlq::default())
            .await
            .unwrap()
            .replayed,
        1
    );
    let rows = h.outbox(&blocked).await;
    assert_eq!((rows[0].retry_count, rows[0].dlq_at), (0, None));
    assert_eq!(flush(&h).await, 1);
    let types: Vec<String> = h
        .events
        .envelopes()
        .into_iter()
        .filter(|e| e.workflow_run_id == blocked)
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        ["workflow:started", "workflow:created"],
        "the replayed event arrives after the others"
    );
    assert_eq!(
        h.events
            .envelopes()
            .iter()
            .filter(|e| e.workflow_run_id == healthy)
            .count(),
        2
    );
}

/// A sink several kernels share, recording the order in which events arrive across all of them.
struct SharedLog(std::sync::Arc<std::sync::Mutex<Vec<(workflow_core::ids::RunId, i32)>>>);

#[async_trait::async_trait]
impl workflow_core::ports::EventSink for SharedLog {
    async fn emit(
        &self,
        event: &workflow_core::ports::EventEnvelope,
    ) -> Result<(), workflow_core::ports::EventError> {
        // Give the other relays a chance to interleave.
        tokio::task::yield_now().await;
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((event.workflow_run_id.clone(), event.sequence));
        Ok(())
    }
}

/// Four relays flushing the same outbox at once (small batches, as several workers would) deliver every
/// event exactly once, and each run's events in sequence order.
pub async fn concurrent_relays_deliver_each_event_once_in_order(factory: &dyn BackendFactory) {
    use std::sync::{Arc, Mutex};
    use workflow_core::kernel::Kernel;
    let h = Harness::new(factory).await;
    let mut runs = Vec::new();
    for n in 0..12 {
        runs.push(h.create("conformance-linear", json!({ "value": n })).await);
    }
    // A claim takes at most 10 runs.
    while !h.claim().await.claimed.is_empty() {}
    let log = Arc::new(Mutex::new(Vec::new()));
    let relays: Vec<_> = (0..4)
        .map(|_| {
            let kernel = Kernel::builder()
                .store(h.backend.store.clone())
                .event_sink(Arc::new(SharedLog(log.clone())))
                .clock(h.clock.clone())
                .registry(super::fixtures::registry())
                .build()
                .unwrap();
            tokio::spawn(async move {
                let mut published = 0;
                loop {
                    let flushed = kernel
                        .dispatch(OutboxFlush {
                            max_events: Some(3),
                        })
                        .await
                        .expect("a relay pass succeeds under contention")
                        .published;
                    if flushed == 0 {
                        return published;
                    }
                    published += flushed;
                }
            })
        })
        .collect();
    let mut published = 0;
    for relay in relays {
        published += relay.await.unwrap();
    }
    let log = log.lock().unwrap().clone();
    assert_eq!(published, 24, "every event is marked published once");
    assert_eq!(log.len(), 24, "every event is delivered once");
    for run in &runs {
        let sequences: Vec<i32> = log
            .iter()
            .filter(|(r, _)| r == run)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(sequences, [1, 2], "run {run} delivered in order");
    }
    assert_eq!(flush(&h).await, 0);
}
