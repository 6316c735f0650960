//! `run.cancel` (reference §5.4): the run and its unfinished stages become `CANCELLED`, its queued and
//! suspended jobs too; a job already running finishes and is discarded as a ghost.

use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::{Kernel, KernelError};
use crate::ports::persistence::stage_is_unfinished;
use crate::ports::{EventKind, RunUpdate, StageUpdate, Status, WorkflowEvent};
use serde::{Deserialize, Serialize};

/// Cancels a pending or running run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCancel {
    /// The run.
    pub workflow_run_id: String,
    /// Why (in the `workflow:cancelled` event).
    pub reason: Option<String>,
}

impl RunCancel {
    /// Cancels `run_id`.
    pub fn new(run_id: impl Into<String>) -> Self {
        RunCancel {
            workflow_run_id: run_id.into(),
            reason: None,
        }
    }

    /// Records why.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// Whether the run was cancelled (`false` if it does not exist or had already finished).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCancelled {
    /// `true` when this command cancelled it.
    pub cancelled: bool,
}

impl Command for RunCancel {
    type Output = RunCancelled;
    const TYPE: &'static str = "run.cancel";

    async fn handle(
        self,
        kernel: &Kernel,
        idempotency: Option<&Idempotency>,
        _: Token,
    ) -> Result<RunCancelled, KernelError> {
        let ports = kernel.ports();
        let now = ports.clock.now();
        let mut tx = ports.persistence.begin().await?;
        let Some(run) = tx.get_run(&self.workflow_run_id).await? else {
            return Ok(RunCancelled { cancelled: false });
        };
        if run.status.is_terminal() {
            return Ok(RunCancelled { cancelled: false });
        }
        let update = RunUpdate {
            status: Some(Status::Cancelled),
            completed_at: Some(Some(now)),
            ..Default::default()
        };
        tx.update_run(&run.id, update, None, now).await?;
        for stage in tx.stages_by_run(&run.id).await? {
            if stage_is_unfinished(stage.status) {
                let update = StageUpdate {
                    status: Some(Status::Cancelled),
                    completed_at: Some(Some(now)),
                    next_poll_at: Some(None),
                    ..Default::default()
                };
                tx.update_stage(&stage.id, update, None, now).await?;
            }
        }
        let jobs = ports.jobs.cancel_by_run(&mut *tx, &run.id, now).await?;
        let event = WorkflowEvent {
            kind: EventKind::WorkflowCancelled {
                reason: self.reason,
            },
            timestamp: now,
            workflow_run_id: run.id.clone(),
        };
        kernel
            .commit::<()>(tx, &[event], &Kernel::causation_id(idempotency), None)
            .await?;
        tracing::info!(run_id = %run.id, jobs_cancelled = jobs, "run cancelled");
        Ok(RunCancelled { cancelled: true })
    }
}
