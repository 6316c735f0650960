//! `run.rerunFrom` (reference §5.5): deletes the stage rows of a group and every later group, restarts the
//! run at that group with the next attempt number, and removes the deleted stages' blobs (in the same
//! transaction when they are the store's own, after the commit otherwise).

use crate::ids::{RunId, StageId};
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::groups::{CreateMode, GroupSpec};
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError};
use crate::ports::EventKind;
use crate::ports::blob::keys;
use crate::ports::{RunUpdate, Status};
use serde::{Deserialize, Serialize};

/// Reruns a completed or failed run from a stage's group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRerunFrom {
    /// The run to rerun; it must be `COMPLETED` or `FAILED`.
    pub workflow_run_id: RunId,
    /// The stage whose group is rerun (with every later group).
    pub from_stage_id: StageId,
    /// A repeat with the same key returns the first result.
    pub idempotency_key: Option<String>,
}

impl RunRerunFrom {
    /// Reruns `run_id` from `stage_id`.
    pub fn new(run_id: impl Into<RunId>, stage_id: impl Into<StageId>) -> Self {
        RunRerunFrom {
            workflow_run_id: run_id.into(),
            from_stage_id: stage_id.into(),
            idempotency_key: None,
        }
    }

    /// Makes the rerun idempotent.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// What the rerun removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRerun {
    /// The run that was reset (the same id: a rerun does not create a run).
    pub workflow_run_id: RunId,
    /// The stage it restarts from.
    pub from_stage_id: StageId,
    /// The stage ids whose rows were deleted.
    pub deleted_stages: Vec<StageId>,
}

impl RunRerunFrom {
    async fn handle(self, unit: &mut UnitOfWork<'_>) -> Result<RunRerun, KernelError> {
        let ports = unit.kernel.ports();
        let now = unit.now;
        let run = unit
            .tx
            .lock_run(&self.workflow_run_id)
            .await?
            .ok_or_else(|| KernelError::RunNotFound(self.workflow_run_id.clone()))?;
        if !matches!(run.status, Status::Completed | Status::Failed) {
            return Err(KernelError::RerunNotAllowed(run.status));
        }
        let definition = ports
            .registry
            .workflow(&run.workflow_id)
            .ok_or_else(|| KernelError::WorkflowNotFound(run.workflow_id.clone()))?;
        let group = definition
            .execution_group(&self.from_stage_id)
            .ok_or_else(|| KernelError::StageNotFound {
                stage_id: self.from_stage_id.clone(),
                workflow_id: run.workflow_id.clone(),
            })?;
        let existing = unit.tx.stages_by_run(&run.id).await?;
        if group > 1
            && !existing
                .iter()
                .any(|stage| (stage.execution_group as u32) < group)
        {
            return Err(KernelError::RerunWithoutPrevious(self.from_stage_id));
        }
        let deleted = unit
            .tx
            .delete_stages_from_group(&run.id, group as i32)
            .await?;
        let attempt = deleted
            .iter()
            .map(|stage| stage.attempt)
            .max()
            .map_or(0, |max| max + 1);
        let update = RunUpdate {
            status: Some(Status::Running),
            started_at: Some(Some(now)),
            completed_at: Some(None),
            duration: Some(None),
            output: Some(None),
            total_cost: Some(0.0),
            total_tokens: Some(0),
        };
        let run = unit.tx.update_run(&run.id, update, None, now).await?;
        // Jobs left over from the previous execution of these stages must not run again.
        unit.tx.cancel_jobs_of_run(&run.id, now).await?;
        for stage in &deleted {
            let prefix = keys::stage_prefix(&run.workflow_type, &run.id, &stage.stage_id);
            if ports.blobs_in_store {
                unit.tx.delete_blob_prefix(&prefix).await?;
            } else {
                unit.delete_blobs_after_commit(prefix);
            }
        }
        let started = unit.event(&run.id, EventKind::WorkflowStarted {});
        let spec = GroupSpec {
            group,
            attempt,
            mode: CreateMode::Create,
        };
        unit.prepare_group(&definition, &run, spec, vec![started])
            .await?;
        tracing::info!(run_id = %run.id, from = %self.from_stage_id, attempt, "run rerun");
        Ok(RunRerun {
            workflow_run_id: run.id.clone(),
            from_stage_id: self.from_stage_id,
            deleted_stages: deleted.iter().map(|stage| stage.stage_id.clone()).collect(),
        })
    }
}

impl Command for RunRerunFrom {
    type Output = RunRerun;
    const TYPE: &'static str = "run.rerunFrom";

    fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    async fn replay_conflict<'u>(
        &'u self,
        cached: &'u RunRerun,
        _unit: &'u mut UnitOfWork<'_>,
    ) -> Result<Option<String>, KernelError> {
        Ok((cached.workflow_run_id != self.workflow_run_id
            || cached.from_stage_id != self.from_stage_id)
            .then(|| {
                format!(
                    "it reran run {} from stage {}, this request reruns run {} from stage {}",
                    cached.workflow_run_id,
                    cached.from_stage_id,
                    self.workflow_run_id,
                    self.from_stage_id
                )
            }))
    }

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<RunRerun, KernelError> {
        kernel.in_unit(self, Self::handle).await
    }
}
