//! [`Kernel::lease_jobs`], the first half of the stage hot path: up to a worker's free slots are claimed
//! in one transaction: the jobs become `RUNNING` with their stages, the outputs each stage declared (and
//! its input) are read in one query, and the `stage:started` events are appended. Claimed jobs that must
//! not run are ended in the same transaction.

use super::Kernel;
use super::context::{OutputKeys, read_external, reads};
use super::error::KernelError;
use super::execution::{LeasedJob, warn_missing};
use super::unit::UnitOfWork;
use crate::definition::workflow::WorkflowDefinition;
use crate::ports::{
    ClaimedJob, EventKind, JobClaim, JobEnd, JobRecord, RunRecord, StageRecord, Status, StoreError,
};
use std::collections::HashMap;
use std::sync::Arc;

/// How many claims one [`Kernel::lease_jobs`] makes at most while every job it claimed had to be ended
/// instead of run (ghosts, duplicates, unreadable rows), before it reports that there is nothing to run.
const MAX_EMPTY_CLAIMS: usize = 16;

/// A claimed job that is going to run, before its outputs are read.
struct Ready {
    job: JobRecord,
    run: RunRecord,
    stage: StageRecord,
    definition: Arc<WorkflowDefinition>,
    keys: OutputKeys,
}

impl Kernel {
    /// Leases up to `limit` jobs for `worker_id` (see the module docs). Jobs that must not run are ended
    /// here: a job whose run is not `RUNNING` is failed as a ghost, a duplicate delivery of a completed
    /// stage is completed, and an unreadable job row is failed with the reason.
    pub async fn lease_jobs(
        &self,
        worker_id: &str,
        limit: usize,
    ) -> Result<Vec<LeasedJob>, KernelError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let claim = self.job_claim(worker_id, limit);
        let mut leased = Vec::new();
        for _ in 0..MAX_EMPTY_CLAIMS {
            let (claimed, runnable) = self.lease_round(&claim).await?;
            leased = runnable;
            if claimed == 0 || !leased.is_empty() {
                break;
            }
        }
        self.with_external_outputs(leased).await
    }

    /// The claim of up to `limit` jobs for `worker_id`, of the workflows this kernel can run.
    pub(crate) fn job_claim(&self, worker_id: &str, limit: usize) -> JobClaim {
        JobClaim {
            worker_id: worker_id.to_owned(),
            limit,
            workflows: self.ports().registry.workflow_ids(),
        }
    }

    /// Reads the outputs of leased jobs when they live in a blob store outside the database (after the
    /// claim committed, through the stage rows); jobs of an in-store kernel already carry them.
    async fn with_external_outputs(
        &self,
        leased: Vec<LeasedJob>,
    ) -> Result<Vec<LeasedJob>, KernelError> {
        if self.ports().blobs_in_store {
            return Ok(leased);
        }
        let mut with_outputs = Vec::with_capacity(leased.len());
        for mut job in leased {
            let stages = self
                .ports()
                .store
                .executor()
                .await?
                .stages_by_run(&job.run.id)
                .await?;
            let node = job.definition.stage(&job.stage.stage_id).expect("admitted");
            let ids = reads(&job.definition, node);
            let keys = OutputKeys::from_rows(&stages, &ids);
            let values = read_external(&*self.ports().blobs, &keys.key_list()).await?;
            let (outputs, missing) = keys.resolve(&values);
            warn_missing(&job.run, &missing);
            job.outputs = outputs;
            with_outputs.push(job);
        }
        Ok(with_outputs)
    }

    /// One claim in one transaction: how many jobs it claimed, and those that are to run.
    async fn lease_round(&self, claim: &JobClaim) -> Result<(usize, Vec<LeasedJob>), KernelError> {
        let causation = crate::ids::uuid();
        self.transact(&causation, async |unit| self.lease_in(unit, claim).await)
            .await
    }

    /// One claim in `unit` (the lease's own transaction, or the one recording the outcome of the job
    /// whose slot the new jobs take): how many jobs it claimed, and those that are to run. Outputs in an
    /// external blob store are not read here (see `with_external_outputs`).
    pub(crate) async fn lease_in(
        &self,
        unit: &mut UnitOfWork<'_>,
        claim: &JobClaim,
    ) -> Result<(usize, Vec<LeasedJob>), KernelError> {
        let claimed = unit.tx.claim_jobs(claim, unit.now).await?;
        let count = claimed.len();
        let mut ready = Vec::with_capacity(claimed.len());
        for claimed in claimed {
            let claimed = match claimed {
                Ok(claimed) => claimed,
                Err(unreadable) => {
                    let error = unreadable_job_error(&unreadable.error);
                    tracing::error!(job_id = %unreadable.job_id, %error, "quarantining a job that cannot be read");
                    unit.tx
                        .quarantine_job(&unreadable.job_id, &error, unit.now)
                        .await?;
                    continue;
                }
            };
            if let Some(job) = self.admit(unit, claimed).await? {
                ready.push(job);
            }
        }
        let in_store = self.ports().blobs_in_store;
        let keys: Vec<String> = ready.iter().flat_map(|r| r.keys.key_list()).collect();
        let values = if in_store && !keys.is_empty() {
            unit.tx.get_blobs(&keys).await?
        } else {
            HashMap::new()
        };
        let mut leased = Vec::with_capacity(ready.len());
        for job in ready {
            let (outputs, missing) = job.keys.resolve(&values);
            let outputs = if in_store && !missing.is_empty() {
                // Outputs of another layout (inline, per-attempt keys): through the stage rows.
                let stages = unit.tx.stages_by_run(&job.run.id).await?;
                let node = job.definition.stage(&job.stage.stage_id).expect("admitted");
                let ids = reads(&job.definition, node);
                self.read_outputs(unit, &job.run, &stages, &ids).await?
            } else {
                outputs
            };
            let started = unit.event(
                &job.run.id,
                EventKind::StageStarted {
                    stage_id: job.stage.stage_id.clone(),
                    stage_name: job.stage.stage_name.clone(),
                    stage_number: job.stage.stage_number,
                },
            );
            unit.emit(started);
            leased.push(LeasedJob {
                job: job.job,
                run: job.run,
                stage: job.stage,
                definition: job.definition,
                outputs,
            });
        }
        Ok((count, leased))
    }

    /// Decides what happens to one claimed job; `Some` when its stage is to run.
    async fn admit(
        &self,
        unit: &mut UnitOfWork<'_>,
        claimed: ClaimedJob,
    ) -> Result<Option<Ready>, KernelError> {
        let lease = claimed.job.lease();
        let now = unit.now;
        let end =
            async |unit: &mut UnitOfWork<'_>, end: JobEnd| -> Result<Option<Ready>, KernelError> {
                unit.tx.end_job(&lease, &end, now).await?;
                Ok(None)
            };
        let ghost = |error: String| {
            tracing::info!(job_id = %claimed.job.id, %error, "ghost job discarded");
            JobEnd::Fail {
                error,
                retry_at: None,
            }
        };
        let Some(run) = claimed.run else {
            let message = format!(
                "Run {} is DELETED, expected RUNNING — ghost job discarded",
                claimed.job.workflow_run_id
            );
            return end(unit, ghost(message)).await;
        };
        if run.status != Status::Running {
            let message = format!(
                "Run {} is {}, expected RUNNING — ghost job discarded",
                run.id, run.status
            );
            return end(unit, ghost(message)).await;
        }
        let Some(definition) = self.ports().registry.workflow(&claimed.job.workflow_id) else {
            let message = format!("Workflow {} not found in registry", claimed.job.workflow_id);
            return end(unit, ghost(message)).await;
        };
        let Some(node) = definition.stage(&claimed.job.stage_id) else {
            let message = format!(
                "Stage {} not found in workflow {}",
                claimed.job.stage_id, claimed.job.workflow_id
            );
            return end(unit, ghost(message)).await;
        };
        let stage = match claimed.stage {
            Some(stage) if claimed.started => stage,
            Some(stage) if stage.status == Status::Completed => {
                // A duplicate delivery of a finished stage.
                tracing::info!(job_id = %claimed.job.id, stage_id = %stage.stage_id, "stage already completed");
                return end(unit, JobEnd::Complete).await;
            }
            other => {
                let config = super::groups::stage_config(&run.config, node.stage.id());
                unit.start_stage_row(&run.id, node, other, config, true)
                    .await?
            }
        };
        let ids = reads(&definition, node);
        let keys = if self.ports().blobs_in_store {
            OutputKeys::canonical(&run, &ids)
        } else {
            OutputKeys::canonical(&run, &[])
        };
        Ok(Some(Ready {
            job: claimed.job,
            run,
            stage,
            definition,
            keys,
        }))
    }
}

/// The `lastError` of a quarantined job: what of it could not be read.
fn unreadable_job_error(error: &StoreError) -> String {
    match error {
        StoreError::CorruptRow {
            table: "job_queue",
            column,
            message,
            ..
        } => format!("job row cannot be read: column {column}: {message}"),
        other => format!("the job's rows cannot be read: {other}"),
    }
}
