//! `run.transition` (reference §5.3): advances a run whose current group has settled. Stage completions
//! already transition their run in their own transaction, so this command is for runs another engine
//! settled, and for tools; concurrent transitions of one run serialize on the run's lock.

use crate::definition::outputs::StageOutputs;
use crate::ids::RunId;
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError};
use crate::ports::{RunUpdate, Status};
use serde::{Deserialize, Serialize};

/// Advances a run whose current group has settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunTransition {
    /// The run to advance: its next group is started, or it completes or fails.
    pub workflow_run_id: RunId,
}

impl RunTransition {
    /// Transitions `run_id`.
    pub fn new(run_id: impl Into<RunId>) -> Self {
        RunTransition {
            workflow_run_id: run_id.into(),
        }
    }
}

/// What the transition did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransitionAction {
    /// The next group was created and enqueued.
    Advanced,
    /// The run completed.
    Completed,
    /// The run failed (a stage failed and is not being retried).
    Failed,
    /// Nothing to do (stages still running, run not `RUNNING`, or another transition won).
    Noop,
}

/// The result of `run.transition`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTransitioned {
    /// What happened.
    pub action: TransitionAction,
    /// The group started, for `Advanced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_group: Option<u32>,
}

impl UnitOfWork<'_> {
    /// Locks the run, bumps its version (so that a transition another engine computed from an older read
    /// loses its race) and transitions it.
    pub(crate) async fn transition_locked(
        &mut self,
        run_id: &str,
    ) -> Result<RunTransitioned, KernelError> {
        let Some(run) = self.tx.lock_run(run_id).await? else {
            return Ok(RunTransitioned::noop());
        };
        if run.status != Status::Running {
            return Ok(RunTransitioned::noop());
        }
        let stages = self.tx.stages_by_run(run_id).await?;
        let run = self
            .tx
            .update_run(run_id, RunUpdate::default(), None, self.now)
            .await?;
        self.transition(&run, &stages, &StageOutputs::new()).await
    }
}

impl RunTransition {
    async fn handle(self, unit: &mut UnitOfWork<'_>) -> Result<RunTransitioned, KernelError> {
        let result = unit.transition_locked(&self.workflow_run_id).await?;
        if result.action == TransitionAction::Noop {
            // Nothing changed: do not leave the version bump behind.
            unit.abandon();
        }
        Ok(result)
    }
}

impl Command for RunTransition {
    type Output = RunTransitioned;
    const TYPE: &'static str = "run.transition";

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<RunTransitioned, KernelError> {
        kernel.in_unit(self, Self::handle).await
    }
}
