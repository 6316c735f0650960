//! Maintenance commands: `lease.reapStale` (§5.8), `outbox.flush` (§5.10, the relay) and `plugin.replayDLQ`
//! (§5.11).

use crate::definition::outputs::StageOutputs;
use crate::ids::RunId;
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError};
use crate::ports::store::stage_is_unfinished;
use crate::ports::{EventEnvelope, EventKind, JobRecord, RunUpdate, Signal, StageUpdate, Status};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

/// Returns jobs whose lease was not refreshed for `stale_threshold` to the queue; a job that lost its lease
/// on its last allowed attempt is failed instead (with its stage, and its run transitioned).
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
    /// Jobs whose lease went stale on their last allowed attempt: failed, with their stage (and run,
    /// unless another stage of it is still retrying).
    #[serde(default)]
    pub failed: usize,
}

impl LeaseReapStale {
    async fn handle(self, unit: &mut UnitOfWork<'_>) -> Result<LeasesReaped, KernelError> {
        let threshold = self.stale_threshold;
        let error = format!(
            "the job's lease was not refreshed for {threshold:?} on its last allowed attempt (its worker stopped or lost its connection)"
        );
        let stale = unit
            .tx
            .release_stale_jobs(threshold, &error, unit.now)
            .await?;
        if stale.released > 0 {
            tracing::warn!(released = stale.released, "released stale job leases");
            unit.signal(Signal::Jobs);
        }
        let mut exhausted = stale.exhausted;
        exhausted.sort_by(|a, b| a.workflow_run_id.cmp(&b.workflow_run_id));
        for job in &exhausted {
            tracing::error!(job_id = %job.id, run_id = %job.workflow_run_id, stage_id = %job.stage_id, attempts = job.attempt, "a job lost its lease on every attempt; failing its stage");
            unit.fail_abandoned_stage(job, &error).await?;
        }
        Ok(LeasesReaped {
            released: stale.released,
            failed: exhausted.len(),
        })
    }
}

impl UnitOfWork<'_> {
    /// Fails the stage of a job that used up its attempts without recording an outcome, and transitions
    /// its run.
    async fn fail_abandoned_stage(
        &mut self,
        job: &JobRecord,
        error: &str,
    ) -> Result<(), KernelError> {
        let Some(run) = self.tx.lock_run(&job.workflow_run_id).await? else {
            return Ok(());
        };
        if run.status != Status::Running {
            return Ok(());
        }
        let Some(stage) = self.tx.get_stage(&run.id, &job.stage_id).await? else {
            return Ok(());
        };
        if !stage_is_unfinished(stage.status) {
            return Ok(());
        }
        let update = StageUpdate {
            status: Some(Status::Failed),
            completed_at: Some(Some(self.now)),
            error_message: Some(Some(error.to_owned())),
            ..Default::default()
        };
        self.tx
            .update_stage(&stage.id, update, None, self.now)
            .await?;
        let failed = self.event(
            &run.id,
            EventKind::StageFailed {
                stage_id: stage.stage_id.clone(),
                stage_name: stage.stage_name.clone(),
                error: error.to_owned(),
            },
        );
        self.emit(failed);
        let stages = self.tx.stages_by_run(&run.id).await?;
        let run = self
            .tx
            .update_run(&run.id, RunUpdate::default(), None, self.now)
            .await?;
        self.transition(&run, &stages, &StageOutputs::new()).await?;
        Ok(())
    }
}

impl Command for LeaseReapStale {
    type Output = LeasesReaped;
    const TYPE: &'static str = "lease.reapStale";

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<LeasesReaped, KernelError> {
        kernel.in_unit(self, Self::handle).await
    }
}

/// Delivers pending outbox events to the event sink, in order per run. Events are claimed, so relays of
/// several workers deliver each event once (at least once if a worker dies mid-delivery) and in order.
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

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<OutboxFlushed, KernelError> {
        let ports = kernel.ports();
        let max_retries = ports.events.max_retries().max(1) as i32;
        // The claimed events stay locked until the pass commits, so that no other relay delivers them.
        kernel
            .transact(&crate::ids::uuid(), async |unit| {
                let rows = unit.tx.claim_outbox(self.max_events.unwrap_or(100)).await?;
                let mut blocked: HashSet<RunId> = HashSet::new();
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
                        Ok(()) => {
                            crate::metrics::event_delivered(unit.now - row.occurred_at);
                            published.push(row.id)
                        }
                        Err(error) => {
                            // Later events of this run wait, so delivery stays ordered per run.
                            blocked.insert(row.workflow_run_id.clone());
                            let retries = unit.tx.increment_outbox_retry(&row.id).await?;
                            if retries >= max_retries {
                                unit.tx.move_outbox_to_dlq(&row.id, unit.now).await?;
                                tracing::error!(run_id = %row.workflow_run_id, sequence = row.sequence, event = %row.event_type, %error, "event moved to the dead-letter queue");
                            } else {
                                tracing::warn!(run_id = %row.workflow_run_id, sequence = row.sequence, event = %row.event_type, retries, %error, "event delivery failed");
                            }
                        }
                    }
                }
                if !published.is_empty() {
                    unit.tx.mark_outbox_published(&published, unit.now).await?;
                }
                Ok(OutboxFlushed {
                    published: published.len(),
                })
            })
            .await
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

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<DlqReplayed, KernelError> {
        let mut executor = kernel.ports().store.executor().await?;
        let replayed = executor.replay_dlq(self.max_events.unwrap_or(100)).await?;
        if replayed > 0 {
            kernel.ports().store.notify(Signal::Events);
        }
        Ok(DlqReplayed { replayed })
    }
}
