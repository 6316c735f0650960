//! `run.reapStuck` (reference §5.9): recovers or fails runs that have made no progress for a threshold.
//!
//! Better than the reference, it never touches a healthy run: a run with a queued or leased job (however
//! old its rows), or with a suspended stage, is left alone. It heals what is really stuck: stages left
//! without a job get one, and a run whose stages all settled is advanced, completed or failed by its
//! transition. Only a run that nothing can move on is failed (`STUCK_RUN_REAPED`).

use crate::kernel::commands::transition::TransitionAction;
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError};
use crate::ports::store::stage_is_unfinished;
use crate::ports::{EventKind, NewJob, RunUpdate, Signal, StageRecord, Status, StoreError};
use crate::time::sub;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

/// Runs examined per `run.reapStuck` (the rest wait for the next tick).
const CANDIDATES_PER_CALL: usize = 100;

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
    /// Runs failed with `STUCK_RUN_REAPED` (or because a row cannot be read).
    pub failed: usize,
    /// Runs whose unfinished stages had lost their jobs and were given new ones.
    pub requeued: usize,
    /// Runs whose stages had all settled and that were advanced, completed or failed.
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
        unit: &mut UnitOfWork<'_>,
        run_id: &str,
    ) -> Result<Reaped, KernelError> {
        let ports = unit.kernel.ports();
        let now = unit.now;
        let Some(run) = unit.tx.lock_run(run_id).await? else {
            return Ok(Reaped::Skipped);
        };
        if run.status != Status::Running || ports.registry.workflow(&run.workflow_id).is_none() {
            // Not ours to judge: finished meanwhile, or a workflow another worker runs.
            return Ok(Reaped::Skipped);
        }
        let jobs = unit.tx.active_jobs_of_run(&run.id).await?;
        if jobs
            .iter()
            .any(|j| matches!(j.status, Status::Pending | Status::Running))
        {
            // A job is queued, leased, or about to be re-leased by the lease reaper: the run is healthy.
            return Ok(Reaped::Skipped);
        }
        let stages = unit.tx.stages_by_run(&run.id).await?;
        if stages.iter().any(|s| s.status == Status::Suspended) {
            // Waiting for a poll (a due one is the poller's to take).
            return Ok(Reaped::Skipped);
        }
        let unfinished: Vec<&StageRecord> = stages
            .iter()
            .filter(|s| stage_is_unfinished(s.status))
            .collect();
        if !unfinished.is_empty() {
            // Stages left PENDING or RUNNING without a job (an interrupted claim, or another engine's
            // crash between its writes): give them their jobs back.
            let orphaned: Vec<NewJob> = unfinished
                .iter()
                .map(|s| NewJob {
                    workflow_run_id: run.id.clone(),
                    workflow_id: run.workflow_id.clone(),
                    stage_id: s.stage_id.clone(),
                    priority: run.priority,
                    payload: json!({ "config": run.config }),
                })
                .collect();
            tracing::warn!(run_id = %run.id, jobs = orphaned.len(), "re-enqueued the lost jobs of a stuck run");
            unit.tx
                .update_run(&run.id, RunUpdate::default(), None, now)
                .await?;
            unit.tx.enqueue_jobs(orphaned, now).await?;
            unit.signal(Signal::Jobs);
            return Ok(Reaped::Requeued);
        }
        let run = unit
            .tx
            .update_run(&run.id, RunUpdate::default(), None, now)
            .await?;
        let result = unit
            .transition(
                &run,
                &stages,
                &crate::definition::outputs::StageOutputs::new(),
            )
            .await?;
        if result.action != TransitionAction::Noop {
            tracing::warn!(run_id = %run.id, action = ?result.action, "stuck run transitioned");
            return Ok(Reaped::Advanced);
        }
        // Every stage settled and still nothing to do: nothing can move this run on.
        let threshold_ms = self.stuck_threshold.as_millis();
        let statuses: Vec<_> = stages
            .iter()
            .map(|s| json!({ "stageId": s.stage_id, "status": s.status }))
            .collect();
        let output = json!({ "error": {
            "code": "STUCK_RUN_REAPED",
            "message": format!("Run stuck for >{threshold_ms}ms with no activity"),
            "stageStatuses": statuses,
        } });
        tracing::error!(run_id = %run.id, threshold_ms, "stuck run reaped");
        unit.fail_run(
            &run,
            format!("Stuck run reaped after {threshold_ms}ms inactivity"),
            Some(output),
        )
        .await?;
        Ok(Reaped::Failed)
    }

    async fn quarantine(
        &self,
        kernel: &Kernel,
        run_id: &str,
        message: String,
    ) -> Result<(), KernelError> {
        tracing::error!(%run_id, %message, "failing a stuck run with an unreadable row");
        kernel
            .transact(&crate::ids::uuid(), async |unit| {
                let output = json!({ "error": { "code": "CORRUPT_ROW", "message": message } });
                unit.tx.quarantine_run(run_id, output, unit.now).await?;
                unit.tx.cancel_jobs_of_run(run_id, unit.now).await?;
                let failed = unit.event(
                    run_id,
                    EventKind::WorkflowFailed {
                        error: message.clone(),
                    },
                );
                unit.emit(failed);
                Ok(())
            })
            .await
    }
}

impl Command for RunReapStuck {
    type Output = StuckRunsReaped;
    const TYPE: &'static str = "run.reapStuck";

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<StuckRunsReaped, KernelError> {
        let ports = kernel.ports();
        let since = sub(ports.clock.now(), self.stuck_threshold);
        let candidates = ports
            .store
            .executor()
            .await?
            .stuck_runs(since, CANDIDATES_PER_CALL)
            .await?;
        let mut reaped = StuckRunsReaped::default();
        for run_id in candidates {
            let outcome = kernel
                .transact(&crate::ids::uuid(), async |unit| {
                    self.reap_one(unit, &run_id).await
                })
                .await;
            match outcome {
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
                    self.quarantine(kernel, &run_id, message).await?;
                    reaped.failed += 1;
                }
                Err(error) => return Err(error),
            }
        }
        Ok(reaped)
    }
}
