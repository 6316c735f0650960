//! `job.execute` (reference §5.6) dispatched directly: marks the stage `RUNNING` in a short transaction,
//! runs the body with no transaction open, and records the outcome in one transaction guarded by the
//! run's status. Like the TypeScript command it does not transition the run (the caller does); hosts use
//! the leased path ([`Kernel::lease_jobs`](crate::kernel::Kernel::lease_jobs)), which transitions the run
//! in the outcome's transaction.

use crate::ids::{RunId, StageId, WorkflowId};
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::execution::{Execution, Started};
use crate::kernel::groups::stage_config;
use crate::kernel::{Kernel, KernelError};
use crate::ports::{EventKind, IdempotencyAcquire, Status};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Executes one stage of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct JobExecute {
    /// The run the stage belongs to.
    pub workflow_run_id: RunId,
    /// The run's workflow (looked up in the registry to find the stage).
    pub workflow_id: WorkflowId,
    /// The id of the stage to execute within that workflow.
    pub stage_id: StageId,
    /// The full run config (`{ stageId: config }`); the stage gets its own entry.
    pub config: Value,
    /// Makes the execution idempotent (a repeat returns the first result).
    pub idempotency_key: Option<String>,
}

impl JobExecute {
    /// Executes `stage_id` of run `run_id` (workflow `workflow_id`) with the run config `config`.
    pub fn new(
        run_id: impl Into<RunId>,
        workflow_id: impl Into<WorkflowId>,
        stage_id: impl Into<StageId>,
        config: Value,
    ) -> Self {
        JobExecute {
            workflow_run_id: run_id.into(),
            workflow_id: workflow_id.into(),
            stage_id: stage_id.into(),
            config,
            idempotency_key: None,
        }
    }

    /// Makes the execution idempotent on `key`.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// How a job ended: the one outcome type of the kernel ([`JobExecuted::outcome`]) and the hosts
/// ([`JobRun`](crate::hosts::JobRun)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobOutcome {
    /// The stage completed (or had already completed).
    Completed,
    /// The stage suspended; it is polled at [`JobExecuted::next_poll_at`].
    Suspended,
    /// The stage failed; it runs again at [`JobExecuted::retry_at`] if its attempts allow and the error was
    /// retryable, otherwise the run failed.
    Failed,
    /// The job should not have run (its run is not `RUNNING`): nothing was written for the stage and the
    /// job was failed without retry.
    Ghost,
    /// The worker lost the job's lease while the stage ran: nothing was written, the job belongs to its new
    /// holder.
    Fenced,
    /// Hosts only: the outcome could not be recorded (the store kept failing for the record retry
    /// budget); the job is leased again once its lease goes stale.
    Unrecorded,
}

impl JobOutcome {
    /// Whether the outcome was recorded as the stage's (completed, suspended or failed).
    pub fn is_recorded(self) -> bool {
        matches!(
            self,
            JobOutcome::Completed | JobOutcome::Suspended | JobOutcome::Failed
        )
    }
}

/// The result of `job.execute`.
///
/// Serialized as the reference's result (`outcome` is `completed`, `suspended` or `failed`; a ghost or
/// fenced job is `failed` with `ghost: true` or `leaseLost: true`), so cached idempotent results read the
/// same in either engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    into = "super::job_executed_wire::JobExecutedWire",
    try_from = "super::job_executed_wire::JobExecutedWire"
)]
pub struct JobExecuted {
    /// How the job ended (see [`JobOutcome`]).
    pub outcome: JobOutcome,
    /// The stage output, when completed.
    pub output: Option<Value>,
    /// The failure message, when failed, a ghost or fenced.
    pub error: Option<String>,
    /// When to poll, when suspended.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// The stage's retry hint (`Some(false)` for invalid input, `StageError::fatal`, ghosts and fenced
    /// jobs).
    pub retryable: Option<bool>,
    /// When a failed job runs again (it went back to the queue).
    pub retry_at: Option<DateTime<Utc>>,
}

impl JobExecuted {
    /// Whether the outcome was recorded as the stage's (not a ghost, not fenced by a lost lease).
    pub(crate) fn settled_normally(&self) -> bool {
        self.outcome.is_recorded()
    }

    pub(crate) fn ghost(error: String) -> Self {
        JobExecuted {
            outcome: JobOutcome::Ghost,
            ..Self::failed(error, Some(false))
        }
    }

    pub(crate) fn lease_lost(error: String) -> Self {
        JobExecuted {
            outcome: JobOutcome::Fenced,
            ..Self::failed(error, Some(false))
        }
    }

    pub(crate) fn failed(error: String, retryable: Option<bool>) -> Self {
        JobExecuted {
            outcome: JobOutcome::Failed,
            output: None,
            error: Some(error),
            next_poll_at: None,
            retryable,
            retry_at: None,
        }
    }

    pub(crate) fn completed(output: Option<Value>) -> Self {
        JobExecuted {
            outcome: JobOutcome::Completed,
            output,
            error: None,
            next_poll_at: None,
            retryable: None,
            retry_at: None,
        }
    }
}

impl JobExecute {
    /// Phase 1: the stage `RUNNING`, visibly, before its body runs (or why it must not run).
    async fn start(&self, kernel: &Kernel, causation: &str) -> Result<Started, KernelError> {
        let ports = kernel.ports();
        let definition = ports
            .registry
            .workflow(&self.workflow_id)
            .ok_or_else(|| KernelError::WorkflowNotFound(self.workflow_id.clone()))?;
        let node = definition
            .stage(&self.stage_id)
            .ok_or_else(|| KernelError::StageNotFound {
                stage_id: self.stage_id.clone(),
                workflow_id: self.workflow_id.clone(),
            })?
            .clone();
        kernel
            .transact(causation, async |unit| {
                let run = unit
                    .tx
                    .lock_run(&self.workflow_run_id)
                    .await?
                    .ok_or_else(|| KernelError::RunNotFound(self.workflow_run_id.clone()))?;
                if run.status != Status::Running {
                    return Ok(Started::Skip(JobExecuted::ghost(format!(
                        "Run {} is {}, expected RUNNING — ghost job discarded",
                        run.id, run.status
                    ))));
                }
                let stages = unit.tx.stages_by_run(&run.id).await?;
                let existing = stages.iter().find(|s| s.stage_id == self.stage_id);
                if let Some(stage) = existing
                    && stage.status == Status::Completed
                {
                    // A duplicate delivery of a finished stage: report its output, write nothing.
                    let output = unit
                        .kernel
                        .read_outputs(unit, &run, &stages, &[&stage.stage_id])
                        .await?;
                    let output = output.raw(&stage.stage_id).cloned();
                    return Ok(Started::Skip(JobExecuted::completed(output)));
                }
                let config = stage_config(&self.config, &self.stage_id);
                let stage = unit
                    .start_stage_row(&run.id, &node, existing.cloned(), config, false)
                    .await?;
                let reads = crate::kernel::context::reads(&definition, &node);
                let outputs = unit
                    .kernel
                    .read_outputs(unit, &run, &stages, &reads)
                    .await?;
                let started = unit.event(
                    &run.id,
                    EventKind::StageStarted {
                        stage_id: stage.stage_id.clone(),
                        stage_name: stage.stage_name.clone(),
                        stage_number: stage.stage_number,
                    },
                );
                unit.emit(started);
                Ok(Started::Run(Box::new((
                    Execution {
                        started_at: stage.started_at.unwrap_or(unit.now),
                        run,
                        stage,
                        definition: definition.clone(),
                        lease: None,
                        retry: None,
                        causation: causation.to_owned(),
                        transition: false,
                        idempotency_key: self.idempotency_key.clone(),
                        lease_next: None,
                    },
                    outputs,
                ))))
            })
            .await
    }

    async fn run(self, kernel: &Kernel) -> Result<JobExecuted, KernelError> {
        let causation = Kernel::causation_id(self.idempotency_key.as_deref());
        match self.start(kernel, &causation).await? {
            Started::Skip(result) => {
                if let Some(key) = &self.idempotency_key {
                    let value = serde_json::to_value(&result).unwrap_or_default();
                    kernel
                        .transact(key, async |unit| {
                            Ok(unit
                                .tx
                                .complete_idempotency_key(key, Self::TYPE, &value)
                                .await?)
                        })
                        .await?;
                }
                Ok(result)
            }
            Started::Run(started) => {
                let (execution, outputs) = *started;
                kernel
                    .run_execution(execution, outputs, &self.config)
                    .await
                    .map(|handoff| handoff.result)
            }
        }
    }
}

impl Command for JobExecute {
    type Output = JobExecuted;
    const TYPE: &'static str = "job.execute";

    fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    fn check(&self) -> Result<(), KernelError> {
        crate::kernel::validate::storable_json(Self::TYPE, "config", &self.config)
    }

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<JobExecuted, KernelError> {
        let Some(key) = self.idempotency_key.clone() else {
            return self.run(kernel).await;
        };
        // The key spans several transactions: its in-progress marker is committed first, and the result
        // is stored with the outcome.
        let stale = kernel.ports().config.idempotency_stale_in_progress;
        let acquired = kernel
            .transact(&key, async |unit| {
                Ok(unit
                    .tx
                    .acquire_idempotency_key(&key, Self::TYPE, unit.now, stale)
                    .await?)
            })
            .await?;
        match acquired {
            IdempotencyAcquire::Replay(result) => {
                serde_json::from_value(result).map_err(|e| KernelError::UndecodableReplay {
                    command: Self::TYPE,
                    key,
                    detail: e.to_string(),
                })
            }
            IdempotencyAcquire::InProgress => Err(KernelError::IdempotencyInProgress {
                command: Self::TYPE,
                key,
            }),
            IdempotencyAcquire::Acquired => match self.run(kernel).await {
                Ok(result) => Ok(result),
                Err(error) => {
                    kernel.release_idempotency(&key, Self::TYPE).await;
                    Err(error)
                }
            },
        }
    }
}

impl Kernel {
    /// Deletes an in-progress marker after a failed command (errors are logged).
    pub(crate) async fn release_idempotency(&self, key: &str, command: &'static str) {
        let released = async {
            self.ports()
                .store
                .executor()
                .await?
                .release_idempotency_key(key, command)
                .await
        };
        if let Err(error) = released.await {
            tracing::warn!(%key, %error, "could not release an idempotency key");
        }
    }
}
