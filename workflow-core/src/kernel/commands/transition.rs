//! `run.transition`: after stages settle, starts the next group, completes the run or fails it
//! (reference §5.3). Concurrent transitions of one run have a single winner (version-guarded writes).

use crate::definition::outputs::StageOutputs;
use crate::kernel::context::{read_output, run_output};
use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::groups::{CreateMode, GroupSpec};
use crate::kernel::{Kernel, KernelError};
use crate::ports::persistence::stage_is_unfinished;
use crate::ports::{EventKind, RunRecord, RunUpdate, Session, Status, StoreError, WorkflowEvent};
use crate::time::millis_between;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Advances a run whose current group has settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunTransition {
    /// The run.
    pub workflow_run_id: String,
}

impl RunTransition {
    /// Transitions `run_id`.
    pub fn new(run_id: impl Into<String>) -> Self {
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

impl RunTransitioned {
    fn noop() -> Self {
        RunTransitioned {
            action: TransitionAction::Noop,
            next_group: None,
        }
    }

    fn advanced(group: u32) -> Self {
        RunTransitioned {
            action: TransitionAction::Advanced,
            next_group: Some(group),
        }
    }
}

/// A version-guarded write that lost the race means "someone else transitioned": a no-op, not an error.
pub(crate) fn lost_race<T>(result: Result<T, StoreError>) -> Result<Option<T>, KernelError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::StaleVersion { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn metric(metrics: Option<&Value>, key: &str) -> f64 {
    metrics
        .and_then(|m| m.get(key))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

impl Kernel {
    /// The transition of `run` within `tx`; returns the result and its events.
    pub(crate) async fn transition_in(
        &self,
        tx: &mut dyn Session,
        run: &RunRecord,
        now: DateTime<Utc>,
    ) -> Result<(RunTransitioned, Vec<WorkflowEvent>), KernelError> {
        let ports = self.ports();
        let event = |kind| WorkflowEvent {
            kind,
            timestamp: now,
            workflow_run_id: run.id.clone(),
        };
        // A run must be claimed (RUNNING) before it advances; the TypeScript engine also advanced PENDING
        // runs with no stages, which left jobs that were discarded as ghosts until the claim.
        if run.status != Status::Running {
            return Ok((RunTransitioned::noop(), Vec::new()));
        }
        let Some(definition) = ports.registry.workflow(&run.workflow_id) else {
            return Ok((RunTransitioned::noop(), Vec::new()));
        };
        let stages = tx.stages_by_run(&run.id).await?;
        let claim = RunUpdate::default();

        if stages.is_empty() {
            if lost_race(tx.update_run(&run.id, claim, Some(run.version), now).await)?.is_none() {
                return Ok((RunTransitioned::noop(), Vec::new()));
            }
            self.prepare_group(
                tx,
                &definition,
                run,
                GroupSpec {
                    group: 1,
                    attempt: 0,
                    mode: CreateMode::Upsert,
                },
                now,
            )
            .await?;
            return Ok((
                RunTransitioned::advanced(1),
                vec![event(EventKind::WorkflowStarted {})],
            ));
        }
        if stages.iter().any(|stage| stage_is_unfinished(stage.status)) {
            return Ok((RunTransitioned::noop(), Vec::new()));
        }

        let failed: Vec<_> = stages
            .iter()
            .filter(|stage| stage.status == Status::Failed)
            .collect();
        if !failed.is_empty() {
            let jobs = ports.jobs.jobs_by_run(tx, &run.id).await?;
            let retrying = |stage_id: &str| {
                jobs.iter().any(|job| {
                    job.stage_id == stage_id
                        && (job.status == Status::Running
                            || (job.status == Status::Pending && job.attempt > 0))
                })
            };
            let Some(first) = failed.iter().find(|stage| !retrying(&stage.stage_id)) else {
                return Ok((RunTransitioned::noop(), Vec::new()));
            };
            let update = RunUpdate {
                status: Some(Status::Failed),
                completed_at: Some(Some(now)),
                ..Default::default()
            };
            if lost_race(tx.update_run(&run.id, update, Some(run.version), now).await)?.is_none() {
                return Ok((RunTransitioned::noop(), Vec::new()));
            }
            // Jobs of a failed run never stay claimable.
            ports.jobs.cancel_by_run(tx, &run.id, now).await?;
            let error = first
                .error_message
                .clone()
                .unwrap_or_else(|| "Stage failed".to_owned());
            tracing::info!(run_id = %run.id, stage_id = %first.stage_id, %error, "run failed");
            let result = RunTransitioned {
                action: TransitionAction::Failed,
                next_group: None,
            };
            return Ok((result, vec![event(EventKind::WorkflowFailed { error })]));
        }

        let max_group = stages
            .iter()
            .map(|stage| stage.execution_group)
            .max()
            .unwrap_or(0)
            .max(0) as u32;
        let next_group = max_group + 1;
        if !definition.stages_in_group(next_group).is_empty() {
            if lost_race(tx.update_run(&run.id, claim, Some(run.version), now).await)?.is_none() {
                return Ok((RunTransitioned::noop(), Vec::new()));
            }
            // New rows carry the highest attempt of the run, so a rerun's attempt propagates downstream.
            let attempt = stages.iter().map(|stage| stage.attempt).max().unwrap_or(0);
            self.prepare_group(
                tx,
                &definition,
                run,
                GroupSpec {
                    group: next_group,
                    attempt,
                    mode: CreateMode::Upsert,
                },
                now,
            )
            .await?;
            return Ok((RunTransitioned::advanced(next_group), Vec::new()));
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
        let mut last_outputs = StageOutputs::new();
        for node in definition.stages_in_group(definition.group_count()) {
            if let Some(stage) = stages
                .iter()
                .find(|stage| stage.stage_id == node.stage.id())
                && let Some(output) = read_output(&*ports.blobs, stage).await?
            {
                last_outputs.insert(stage.stage_id.clone(), output);
            }
        }
        let output = run_output(&definition, &last_outputs);
        let duration = millis_between(run.created_at, now);
        let update = RunUpdate {
            status: Some(Status::Completed),
            completed_at: Some(Some(now)),
            duration: Some(Some(duration)),
            output: Some(output.clone()),
            total_cost: Some(total_cost),
            total_tokens: Some(total_tokens),
            ..Default::default()
        };
        if lost_race(tx.update_run(&run.id, update, Some(run.version), now).await)?.is_none() {
            return Ok((RunTransitioned::noop(), Vec::new()));
        }
        tracing::info!(run_id = %run.id, duration_ms = duration, total_cost, total_tokens, "run completed");
        let completed = event(EventKind::WorkflowCompleted {
            duration: Some(duration),
            output,
            total_cost: Some(total_cost),
            total_tokens: Some(total_tokens),
        });
        Ok((
            RunTransitioned {
                action: TransitionAction::Completed,
                next_group: None,
            },
            vec![completed],
        ))
    }
}

impl Command for RunTransition {
    type Output = RunTransitioned;
    const TYPE: &'static str = "run.transition";

    async fn handle(
        self,
        kernel: &Kernel,
        idempotency: Option<&Idempotency>,
        _: Token,
    ) -> Result<RunTransitioned, KernelError> {
        let now = kernel.ports().clock.now();
        let mut tx = kernel.ports().persistence.begin().await?;
        let Some(run) = tx.get_run(&self.workflow_run_id).await? else {
            return Ok(RunTransitioned::noop());
        };
        let (result, events) = kernel.transition_in(&mut *tx, &run, now).await?;
        kernel
            .commit::<()>(tx, &events, &Kernel::causation_id(idempotency), None)
            .await?;
        if result.action == TransitionAction::Advanced {
            kernel.ports().jobs.notify_enqueued();
        }
        Ok(result)
    }
}
