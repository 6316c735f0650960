//! `run.reapStuck` (reference §5.9): recovers or fails runs that have made no progress for a threshold.
//!
//! Better than the reference: a run waiting on a suspended stage whose next poll is in the future is not
//! stuck; a run whose stages have all settled is advanced (or completed) instead of failed, which repairs a
//! crash between finishing a job and transitioning the run; and the jobs of a reaped run are cancelled.

use crate::kernel::commands::transition::TransitionAction;
use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::{Kernel, KernelError};
use crate::ports::persistence::stage_is_unfinished;
use crate::ports::{EventKind, NewJob, RunUpdate, Status, StoreError, WorkflowEvent};
use crate::time::sub;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// Reaps runs that have been `RUNNING` without any write for `stuck_threshold`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReapStuck {
    /// Inactivity after which a run is stuck (hosts default to 15 min).
    pub stuck_threshold: Duration,
}

/// What was done with the stuck runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StuckRunsReaped {
    /// Runs failed with `STUCK_RUN_REAPED`.
    pub failed: usize,
    /// Runs whose pending stages had lost their jobs and were re-enqueued.
    pub requeued: usize,
    /// Runs whose stages had all settled and that were advanced or completed.
    pub advanced: usize,
}

impl Command for RunReapStuck {
    type Output = StuckRunsReaped;
    const TYPE: &'static str = "run.reapStuck";

    async fn handle(
        self,
        kernel: &Kernel,
        idempotency: Option<&Idempotency>,
        _: Token,
    ) -> Result<StuckRunsReaped, KernelError> {
        let ports = kernel.ports();
        let now = ports.clock.now();
        let since = sub(now, self.stuck_threshold);
        let mut tx = ports.persistence.begin().await?;
        let mut events = Vec::new();
        let mut reaped = StuckRunsReaped::default();
        for candidate in tx.stuck_runs(since).await? {
            let Some(run) = tx.get_run(&candidate.id).await? else {
                continue;
            };
            if run.status != Status::Running {
                continue;
            }
            let stages = tx.stages_by_run(&run.id).await?;
            let unfinished: Vec<_> = stages
                .iter()
                .filter(|s| stage_is_unfinished(s.status))
                .collect();
            if !unfinished.is_empty()
                && unfinished.iter().all(|s| {
                    s.status == Status::Suspended && s.next_poll_at.is_some_and(|at| at > now)
                })
            {
                continue; // waiting for its next poll, not stuck
            }
            if unfinished.is_empty() && ports.registry.workflow(&run.workflow_id).is_some() {
                let (result, transition_events) = kernel.transition_in(&mut *tx, &run, now).await?;
                if matches!(
                    result.action,
                    TransitionAction::Advanced
                        | TransitionAction::Completed
                        | TransitionAction::Failed
                ) {
                    tracing::warn!(run_id = %run.id, action = ?result.action, "stuck run transitioned");
                    events.extend(transition_events);
                    reaped.advanced += 1;
                    continue;
                }
            }
            let jobs = ports.jobs.jobs_by_run(&mut *tx, &run.id).await?;
            let orphaned: Vec<NewJob> = stages
                .iter()
                .filter(|s| s.status == Status::Pending)
                .filter(|s| {
                    !jobs.iter().any(|j| {
                        j.stage_id == s.stage_id
                            && matches!(j.status, Status::Pending | Status::Running)
                    })
                })
                .map(|s| NewJob {
                    workflow_run_id: run.id.clone(),
                    workflow_id: run.workflow_id.clone(),
                    stage_id: s.stage_id.clone(),
                    priority: run.priority,
                    payload: json!({ "config": run.config }),
                })
                .collect();
            if !orphaned.is_empty() {
                // The recovery is activity: touching the run keeps the next reap from failing it before its
                // jobs run (and makes concurrent reapers single-winner).
                match tx
                    .update_run(&run.id, RunUpdate::default(), Some(run.version), now)
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::StaleVersion { .. }) => continue,
                    Err(error) => return Err(error.into()),
                }
                tracing::warn!(run_id = %run.id, jobs = orphaned.len(), "re-enqueued the lost jobs of a stuck run");
                ports.jobs.enqueue(&mut *tx, orphaned, now).await?;
                reaped.requeued += 1;
                continue;
            }
            let threshold_ms = self.stuck_threshold.as_millis();
            let statuses: Vec<_> = stages
                .iter()
                .map(|s| json!({ "stageId": s.stage_id, "status": s.status }))
                .collect();
            let update = RunUpdate {
                status: Some(Status::Failed),
                completed_at: Some(Some(now)),
                output: Some(Some(json!({ "error": {
                    "code": "STUCK_RUN_REAPED",
                    "message": format!("Run stuck for >{threshold_ms}ms with no activity"),
                    "stageStatuses": statuses,
                } }))),
                ..Default::default()
            };
            match tx.update_run(&run.id, update, Some(run.version), now).await {
                Ok(_) => {}
                Err(StoreError::StaleVersion { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
            ports.jobs.cancel_by_run(&mut *tx, &run.id, now).await?;
            tracing::error!(run_id = %run.id, threshold_ms, "stuck run reaped");
            events.push(WorkflowEvent {
                kind: EventKind::WorkflowFailed {
                    error: format!("Stuck run reaped after {threshold_ms}ms inactivity"),
                },
                timestamp: now,
                workflow_run_id: run.id.clone(),
            });
            reaped.failed += 1;
        }
        kernel
            .commit::<()>(tx, &events, &Kernel::causation_id(idempotency), None)
            .await?;
        if reaped.requeued + reaped.advanced > 0 {
            ports.jobs.notify_enqueued();
        }
        Ok(reaped)
    }
}
