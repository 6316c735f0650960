//! The transition of a run whose stages settled (reference §5.3): start the next group, complete the run,
//! or fail it. It runs inside the transaction that settled the last stage (so a stage's completion, its
//! job's completion and the run's transition commit together), and in `run.transition` and the reaper.

use super::commands::{RunTransitioned, TransitionAction};
use super::context::{OutputKeys, read_external, run_output};
use super::error::KernelError;
use super::groups::{CreateMode, GroupSpec};
use super::unit::UnitOfWork;
use crate::definition::outputs::StageOutputs;
use crate::ports::store::stage_is_unfinished;
use crate::ports::{EventKind, RunRecord, RunUpdate, StageRecord, Status};
use crate::time::millis_between;
use serde_json::Value;

fn metric(metrics: Option<&Value>, key: &str) -> f64 {
    metrics
        .and_then(|m| m.get(key))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

impl RunTransitioned {
    pub(crate) fn noop() -> Self {
        RunTransitioned {
            action: TransitionAction::Noop,
            next_group: None,
        }
    }

    fn with(action: TransitionAction, next_group: Option<u32>) -> Self {
        RunTransitioned { action, next_group }
    }
}

impl UnitOfWork<'_> {
    /// The transition of `run` (locked by this unit, `RUNNING`) given its stage rows as they are now.
    /// `known` holds outputs already in hand (the stage that just completed), so that completing a run
    /// whose last group is one stage reads nothing.
    pub(crate) async fn transition(
        &mut self,
        run: &RunRecord,
        stages: &[StageRecord],
        known: &StageOutputs,
    ) -> Result<RunTransitioned, KernelError> {
        let ports = self.kernel.ports();
        // A run must be claimed (RUNNING) before it advances; the TypeScript engine also advanced PENDING
        // runs with no stages, which left jobs that were discarded as ghosts until the claim.
        if run.status != Status::Running {
            return Ok(RunTransitioned::noop());
        }
        let Some(definition) = ports.registry.workflow(&run.workflow_id) else {
            return Ok(RunTransitioned::noop());
        };
        if stages.is_empty() {
            let started = self.event(&run.id, EventKind::WorkflowStarted {});
            let spec = GroupSpec {
                group: 1,
                attempt: 0,
                mode: CreateMode::Upsert,
            };
            self.prepare_group(&definition, run, spec, vec![started])
                .await?;
            return Ok(RunTransitioned::with(TransitionAction::Advanced, Some(1)));
        }
        if stages.iter().any(|stage| stage_is_unfinished(stage.status)) {
            return Ok(RunTransitioned::noop());
        }

        let failed: Vec<&StageRecord> = stages
            .iter()
            .filter(|stage| stage.status == Status::Failed)
            .collect();
        if !failed.is_empty() {
            let jobs = self.tx.active_jobs_of_run(&run.id).await?;
            let retrying = |stage_id: &str| {
                jobs.iter().any(|job| {
                    job.stage_id == stage_id
                        && (job.status == Status::Running
                            || (job.status == Status::Pending && job.attempt > 0))
                })
            };
            let Some(first) = failed.iter().find(|stage| !retrying(&stage.stage_id)) else {
                return Ok(RunTransitioned::noop());
            };
            let error = first
                .error_message
                .clone()
                .unwrap_or_else(|| "Stage failed".to_owned());
            self.fail_run(run, error, None).await?;
            return Ok(RunTransitioned::with(TransitionAction::Failed, None));
        }

        let max_group = stages
            .iter()
            .map(|stage| stage.execution_group)
            .max()
            .unwrap_or(0)
            .max(0) as u32;
        let next_group = max_group + 1;
        if !definition.stages_in_group(next_group).is_empty() {
            // New rows carry the highest attempt of the run, so a rerun's attempt propagates downstream.
            let attempt = stages.iter().map(|stage| stage.attempt).max().unwrap_or(0);
            let spec = GroupSpec {
                group: next_group,
                attempt,
                mode: CreateMode::Upsert,
            };
            self.prepare_group(&definition, run, spec, Vec::new())
                .await?;
            return Ok(RunTransitioned::with(
                TransitionAction::Advanced,
                Some(next_group),
            ));
        }

        let total_cost: f64 = stages
            .iter()
            .map(|stage| metric(stage.metrics.as_ref(), "totalCost"))
            .sum();
        let total_tokens: f64 = stages
            .iter()
            .map(|stage| metric(stage.metrics.as_ref(), "totalTokens"))
            .sum();
        let total_tokens = total_tokens.round().clamp(0.0, f64::from(i32::MAX)) as i32;
        let last_ids: Vec<&str> = definition
            .stages_in_group(definition.group_count())
            .iter()
            .map(|node| node.stage.id())
            .filter(|id| known.raw(id).is_none())
            .collect();
        let mut outputs = StageOutputs::new();
        for id in known.stage_ids() {
            if let Some(value) = known.raw(id) {
                outputs.insert(id, value.clone());
            }
        }
        if !last_ids.is_empty() {
            let keys = OutputKeys::from_rows(stages, &last_ids);
            let values = if ports.blobs_in_store {
                self.tx.get_blobs(&keys.key_list()).await?
            } else {
                read_external(&*ports.blobs, &keys.key_list()).await?
            };
            let (read, _) = keys.resolve(&values);
            for id in read.stage_ids() {
                if let Some(value) = read.raw(id) {
                    outputs.insert(id, value.clone());
                }
            }
        }
        let output = run_output(&definition, &outputs);
        let duration = millis_between(run.created_at, self.now);
        let update = RunUpdate {
            status: Some(Status::Completed),
            completed_at: Some(Some(self.now)),
            duration: Some(Some(duration)),
            output: Some(output.clone()),
            total_cost: Some(total_cost),
            total_tokens: Some(total_tokens),
            ..Default::default()
        };
        self.tx.update_run(&run.id, update, None, self.now).await?;
        tracing::info!(run_id = %run.id, duration_ms = duration, total_cost, total_tokens, "run completed");
        let completed = self.event(
            &run.id,
            EventKind::WorkflowCompleted {
                duration: Some(duration),
                output,
                total_cost: Some(total_cost),
                total_tokens: Some(total_tokens),
            },
        );
        self.emit(completed);
        Ok(RunTransitioned::with(TransitionAction::Completed, None))
    }

    /// Fails a run: `FAILED` with `completedAt` (and `output` when given), no job of it stays claimable,
    /// and `workflow:failed` is emitted.
    pub(crate) async fn fail_run(
        &mut self,
        run: &RunRecord,
        error: String,
        output: Option<Value>,
    ) -> Result<(), KernelError> {
        let update = RunUpdate {
            status: Some(Status::Failed),
            completed_at: Some(Some(self.now)),
            output: output.map(Some),
            ..Default::default()
        };
        self.tx.update_run(&run.id, update, None, self.now).await?;
        // Jobs of a failed run never stay claimable.
        self.tx.cancel_jobs_of_run(&run.id, self.now).await?;
        tracing::info!(run_id = %run.id, %error, "run failed");
        let failed = self.event(&run.id, EventKind::WorkflowFailed { error });
        self.emit(failed);
        Ok(())
    }
}
