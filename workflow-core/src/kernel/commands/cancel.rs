//! `run.cancel` (reference §5.4): the run and its unfinished stages become `CANCELLED`, its queued and
//! suspended jobs too; a job already running finishes and is discarded as a ghost.

use crate::ids::RunId;
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError};
use crate::ports::store::stage_is_unfinished;
use crate::ports::{EventKind, RunUpdate, StageUpdate, Status};
use serde::{Deserialize, Serialize};

/// Cancels a pending or running run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunCancel {
    /// The run to cancel; a run already `COMPLETED`, `FAILED` or `CANCELLED` is left as it is.
    pub workflow_run_id: RunId,
    /// Why (in the `workflow:cancelled` event).
    pub reason: Option<String>,
}

impl RunCancel {
    /// Cancels `run_id`.
    pub fn new(run_id: impl Into<RunId>) -> Self {
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

impl RunCancel {
    async fn handle(self, unit: &mut UnitOfWork<'_>) -> Result<RunCancelled, KernelError> {
        let now = unit.now;
        let Some(run) = unit.tx.lock_run(&self.workflow_run_id).await? else {
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
        unit.tx.update_run(&run.id, update, None, now).await?;
        // Jobs before stages: a worker claiming a job of this run locks the job, then its stage row.
        let jobs = unit.tx.cancel_jobs_of_run(&run.id, now).await?;
        for stage in unit.tx.stages_by_run(&run.id).await? {
            if stage_is_unfinished(stage.status) {
                let update = StageUpdate {
                    status: Some(Status::Cancelled),
                    completed_at: Some(Some(now)),
                    next_poll_at: Some(None),
                    ..Default::default()
                };
                unit.tx.update_stage(&stage.id, update, None, now).await?;
            }
        }
        let event = unit.event(
            &run.id,
            EventKind::WorkflowCancelled {
                reason: self.reason,
            },
        );
        unit.emit(event);
        tracing::info!(run_id = %run.id, jobs_cancelled = jobs, "run cancelled");
        Ok(RunCancelled { cancelled: true })
    }
}

impl Command for RunCancel {
    type Output = RunCancelled;
    const TYPE: &'static str = "run.cancel";

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<RunCancelled, KernelError> {
        kernel.in_unit(self, Self::handle).await
    }
}
