//! Maintenance commands: `lease.reapStale` (§5.8), `outbox.flush` (§5.10) and `plugin.replayDLQ` (§5.11).

use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::{Kernel, KernelError};
use crate::ports::EventEnvelope;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

/// Returns jobs whose lease was not refreshed for `stale_threshold` to the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseReapStale {
    /// Leases older than this are stale (hosts default to 5 min).
    pub stale_threshold: Duration,
}

/// How many leases were released.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeasesReaped {
    /// Jobs back to `PENDING`.
    pub released: usize,
}

impl Command for LeaseReapStale {
    type Output = LeasesReaped;
    const TYPE: &'static str = "lease.reapStale";

    async fn handle(
        self,
        kernel: &Kernel,
        _: Option<&Idempotency>,
        _: Token,
    ) -> Result<LeasesReaped, KernelError> {
        let ports = kernel.ports();
        let released = ports
            .jobs
            .release_stale(self.stale_threshold, ports.clock.now())
            .await?;
        if released > 0 {
            tracing::warn!(released, "released stale job leases");
            ports.jobs.notify_enqueued();
        }
        Ok(LeasesReaped { released })
    }
}

/// Delivers pending outbox events to the event sink, in order per run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxFlush {
    /// At most this many events (default 100).
    pub max_events: Option<usize>,
}

/// How many events were delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxFlushed {
    /// Events delivered and marked published.
    pub published: usize,
}

impl Command for OutboxFlush {
    type Output = OutboxFlushed;
    const TYPE: &'static str = "outbox.flush";

    async fn handle(
        self,
        kernel: &Kernel,
        _: Option<&Idempotency>,
        _: Token,
    ) -> Result<OutboxFlushed, KernelError> {
        let ports = kernel.ports();
        let mut session = ports.persistence.session().await?;
        let rows = session
            .unpublished_outbox(self.max_events.unwrap_or(100))
            .await?;
        let max_retries = ports.events.max_retries().max(1) as i32;
        let mut blocked: HashSet<String> = HashSet::new();
        let mut published = Vec::new();
        for row in rows {
            if blocked.contains(&row.workflow_run_id) {
                continue;
            }
            let envelope = EventEnvelope {
                workflow_run_id: row.workflow_run_id.clone(),
                sequence: row.sequence,
                event_type: row.event_type.clone(),
                occurred_at: row.occurred_at,
                payload: row.payload,
            };
            match ports.events.emit(&envelope).await {
                Ok(()) => published.push(row.id),
                Err(error) => {
                    // Later events of this run wait, so delivery stays ordered per run.
                    blocked.insert(row.workflow_run_id.clone());
                    let retries = session.increment_outbox_retry(&row.id).await?;
                    if retries >= max_retries {
                        session
                            .move_outbox_to_dlq(&row.id, ports.clock.now())
                            .await?;
                        tracing::error!(run_id = %row.workflow_run_id, sequence = row.sequence, event = %row.event_type, %error, "event moved to the dead-letter queue");
                    } else {
                        tracing::warn!(run_id = %row.workflow_run_id, sequence = row.sequence, event = %row.event_type, retries, %error, "event delivery failed");
                    }
                }
            }
        }
        if !published.is_empty() {
            session
                .mark_outbox_published(&published, ports.clock.now())
                .await?;
        }
        Ok(OutboxFlushed {
            published: published.len(),
        })
    }
}

/// Returns dead-lettered events to the outbox so the next flush retries them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginReplayDlq {
    /// At most this many events (default 100).
    pub max_events: Option<usize>,
}

/// How many events were returned to the outbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DlqReplayed {
    /// Events whose DLQ mark and retry count were cleared.
    pub replayed: usize,
}

impl Command for PluginReplayDlq {
    type Output = DlqReplayed;
    const TYPE: &'static str = "plugin.replayDLQ";

    async fn handle(
        self,
        kernel: &Kernel,
        _: Option<&Idempotency>,
        _: Token,
    ) -> Result<DlqReplayed, KernelError> {
        let mut session = kernel.ports().persistence.session().await?;
        let replayed = session.replay_dlq(self.max_events.unwrap_or(100)).await?;
        Ok(DlqReplayed { replayed })
    }
}
