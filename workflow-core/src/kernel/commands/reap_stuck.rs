//! `run.reapStuck` (reference §5.9): recovers or fails runs that have made no progress for a threshold.
//!
//! Better than the reference: a run waiting on a suspended stage whose next poll is in the future is not
//! stuck; a run whose stages have all settled is advanced (or completed) instead of failed, which repairs a
//! crash between finishing a job and transitioning the run; and the jobs of a reaped run are cancelled.

use crate::kernel::commands::transition::{TransitionAction, lost_race};
use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::{Kernel, KernelError};
use crate::ports::persistence::stage_is_unfinished;
use crate::ports::{
    EventKind, NewJob, RunUpdate, Session, StageRecord, Status, StoreError, WorkflowEvent,
};
use crate::time::sub;
use chrono::{DateTime, Utc};
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

/// What happened to one stuck run.
enum Reaped {
    Skipped,
    Failed,
    Requeued,
    Advanced,
}

impl StuckRunsReaped {
    fn count(&mut self, outcome: Reaped) {
        match outcome {
            Reaped::Skipped => {}
            Reaped::Failed => self.failed += 1,
            Reaped::Requeued => self.requeued += 1,
            Reaped::Advanced => self.advanced += 1,
        }
    }
}

impl RunReapStuck {
    async fn reap_one(
        &self,
        kernel: &Kernel,
        tx: &mut dyn Session,
        run_id: &str,
        now: DateTime<Utc>,
        events: &mut Vec<WorkflowEvent>,
    ) -> Result<Reaped, KernelError> {
        let ports = kernel.ports();
        let Some(run) = tx.get_run(run_id).await? else {
            return Ok(Reaped::Skipped);
        };
        if run.status != Status::Running {
            return Ok(Reaped::Skipped);
        }
        let stages = tx.stages_by_run(&run.id).await?;
        let unfinished: Vec<_> = stages
            .iter()
            .filter(|s| stage_is_unfinished(s.status))
            .collect();
        let waiting_for_poll = |s: &&StageRecord| {
            s.status == Status::Suspended && s.next_poll_at.is_some_and(|at| at > now)
        };
        if !unfinished.is_empty() && unfinished.iter().all(waiting_for_poll) {
            return Ok(Reaped::Skipped);
        }
        if unfinished.is_empty() && ports.registry.workflow(&run.workflow_id).is_some() {
            let (result, transition_events) = kernel.transition_in(tx, &run, now).await?;
            if result.action != TransitionAction::Noop {
                tracing::warn!(run_id = %run.id, action = ?result.action, "stuck run transitioned");
                events.extend(transition_events);
                return Ok(Reaped::Advanced);
            }
        }
        let jobs = ports.jobs.jobs_by_run(tx, &run.id).await?;
        let has_live_job = |stage_id: &str| {
            jobs.iter().any(|j| {
                j.stage_id == stage_id && matches!(j.status, Status::Pending | Status::Running)
            })
        };
        let orphaned: Vec<NewJob> = stages
            .iter()
            .filter(|s| s.status == Status::Pending && !has_live_job(&s.stage_id))
            .map(|s| NewJob {
                workflow_run_id: run.id.clone(),
                workflow_id: run.workflow_id.clone(),
                stage_id: s.stage_id.clone(),
                priority: run.priority,
                payload: json!({ "config": run.config }),
            })
            .collect();
        if !orphaned.is_empty() {
            // The recovery is activity: touching the run keeps the next reap from failing it before its jobs
            // run (and makes concurrent reapers single-winner).
            if lost_race(
                tx.update_run(&run.id, RunUpdate::default(), Some(run.version), now)
                    .await,
            )?
            .is_none()
            {
                return Ok(Reaped::Skipped);
            }
            tracing::warn!(run_id = %run.id, jobs = orphaned.len(), "re-enqueued the lost jobs of a stuck run");
            ports.jobs.enqueue(tx, orphaned, now).await?;
            return Ok(Reaped::Requeued);
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
        if lost_race(tx.update_run(&run.id, update, Some(run.version), now).await)?.is_none() {
            return Ok(Reaped::Skipped);
        }
        ports.jobs.cancel_by_run(tx, &run.id, now).await?;
        tracing::error!(run_id = %run.id, threshold_ms, "stuck run reaped");
        events.push(WorkflowEvent {
            kind: EventKind::WorkflowFailed {
                error: format!("Stuck run reaped after {threshold_ms}ms inactivity"),
            },
            timestamp: now,
            workflow_run_id: run.id.clone(),
        });
        Ok(Reaped::Failed)
    }
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
            match self
                .reap_one(kernel, &mut *tx, &candidate.id, now, &mut events)
                .await
            {
                Ok(outcome) => reaped.count(outcome),
                Err(KernelError::Store(StoreError::CorruptRow {
                    table,
                    row_id,
                    column,
                    message,
                })) => {
                    // One unreadable row must not stop the reaping of the other runs.
                    let message =
                        format!("table {table}, row {row_id}, column {column}: {message}");
                    tracing::error!(run_id = %candidate.id, %message, "failing a stuck run with an unreadable row");
                    let output = json!({ "error": { "code": "CORRUPT_ROW", "message": message } });
                    tx.quarantine_run(&candidate.id, output, now).await?;
                    ports
                        .jobs
                        .cancel_by_run(&mut *tx, &candidate.id, now)
                        .await?;
                    events.push(WorkflowEvent {
                        kind: EventKind::WorkflowFailed { error: message },
                        timestamp: now,
                        workflow_run_id: candidate.id.clone(),
                    });
                    reaped.failed += 1;
                }
                Err(error) => return Err(error),
            }
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
