//! `job.execute` (reference §5.6): runs one stage of a run in three phases. Phase 1 marks the stage
//! `RUNNING` in a short transaction; phase 2 runs the stage body with no transaction open (its logs are
//! written as they happen); phase 3 records the outcome in a transaction guarded by the run's status and,
//! when the job carries a lease, by the lease's fencing token.

use super::job_outcome::{Outcome, PhaseThree};
use crate::kernel::context::{load_outputs, read_output, resolve_input, stage_env};
use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::groups::stage_config;
use crate::kernel::logs::LogWriter;
use crate::kernel::{Kernel, KernelError};
use crate::ports::{Activity, EventKind, JobLease, NewStage, StageUpdate, Status, WorkflowEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;

/// Executes one stage of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct JobExecute {
    /// The run.
    pub workflow_run_id: String,
    /// The workflow.
    pub workflow_id: String,
    /// The stage.
    pub stage_id: String,
    /// The full run config (`{ stageId: config }`); the stage gets its own entry.
    pub config: Value,
    /// Hosts pass `job:<jobId>:attempt:<attempt>`.
    pub idempotency_key: Option<String>,
    /// The job lease the caller holds; phase-1 and phase-3 writes are refused once it is lost.
    pub lease: Option<JobLease>,
}

impl JobExecute {
    /// Executes `stage_id` of run `run_id` (workflow `workflow_id`) with the run config `config`.
    pub fn new(
        run_id: impl Into<String>,
        workflow_id: impl Into<String>,
        stage_id: impl Into<String>,
        config: Value,
    ) -> Self {
        JobExecute {
            workflow_run_id: run_id.into(),
            workflow_id: workflow_id.into(),
            stage_id: stage_id.into(),
            config,
            idempotency_key: None,
            lease: None,
        }
    }

    /// Fences writes with `lease` and keys the execution by it (`job:<id>:attempt:<n>`).
    #[must_use]
    pub fn with_lease(mut self, lease: JobLease) -> Self {
        self.idempotency_key = Some(format!("job:{}:attempt:{}", lease.job_id, lease.attempt));
        self.lease = Some(lease);
        self
    }
}

/// How the execution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobOutcome {
    /// The stage completed (or had already completed).
    Completed,
    /// The stage suspended; poll it at `next_poll_at`.
    Suspended,
    /// The stage failed, or the job was a ghost.
    Failed,
}

/// The result of `job.execute`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobExecuted {
    /// How it ended.
    pub outcome: JobOutcome,
    /// The stage output, when completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// The failure message, when failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When to poll, when suspended.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::js_date::option"
    )]
    pub next_poll_at: Option<DateTime<Utc>>,
    /// The job should not have run (its run is not `RUNNING`, or its lease was lost): nothing was written
    /// for the stage, and the host must neither retry it nor transition the run.
    #[serde(default)]
    pub ghost: bool,
    /// The stage's retry hint (`Some(false)` for invalid input and `StageError::fatal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
}

impl JobExecuted {
    pub(crate) fn ghost(error: String) -> Self {
        JobExecuted {
            outcome: JobOutcome::Failed,
            output: None,
            error: Some(error),
            next_poll_at: None,
            ghost: true,
            retryable: Some(false),
        }
    }

    pub(crate) fn completed(output: Option<Value>) -> Self {
        JobExecuted {
            outcome: JobOutcome::Completed,
            output,
            error: None,
            next_poll_at: None,
            ghost: false,
            retryable: None,
        }
    }
}

impl Command for JobExecute {
    type Output = JobExecuted;
    const TYPE: &'static str = "job.execute";

    fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    async fn handle(
        self,
        kernel: &Kernel,
        idempotency: Option<&Idempotency>,
        _: Token,
    ) -> Result<JobExecuted, KernelError> {
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
            })?;

        // Pre-flight, outside any transaction.
        let mut session = ports.persistence.session().await?;
        let run = session
            .get_run(&self.workflow_run_id)
            .await?
            .ok_or_else(|| KernelError::RunNotFound(self.workflow_run_id.clone()))?;
        if run.status != Status::Running {
            return Ok(JobExecuted::ghost(format!(
                "Run {} is {}, expected RUNNING — ghost job discarded",
                run.id, run.status
            )));
        }
        let stages = session.stages_by_run(&run.id).await?;
        drop(session);
        let existing = stages.iter().find(|stage| stage.stage_id == self.stage_id);
        if let Some(stage) = existing
            && stage.status == Status::Completed
        {
            // A duplicate delivery of a finished stage: report its output, write nothing.
            return Ok(JobExecuted::completed(
                read_output(&*ports.blobs, stage).await?,
            ));
        }
        let outputs = load_outputs(&*ports.blobs, &stages).await?;
        let causation = Kernel::causation_id(idempotency);

        // Phase 1: the stage is RUNNING, visibly, before its body runs.
        let started_at = ports.clock.now();
        let mut tx = ports.persistence.begin().await?;
        if let Some(lease) = &self.lease
            && !ports.jobs.check_lease(&mut *tx, lease).await?
        {
            return Ok(JobExecuted::ghost(format!(
                "job {} lost its lease (attempt {}) — execution skipped",
                lease.job_id, lease.attempt
            )));
        }
        let stage = match existing {
            Some(stage) => {
                let update = StageUpdate {
                    status: Some(Status::Running),
                    started_at: Some(Some(started_at)),
                    ..Default::default()
                };
                tx.update_stage(&stage.id, update, None, started_at).await?
            }
            None => {
                let new = NewStage {
                    workflow_run_id: run.id.clone(),
                    stage_id: node.stage.id().to_owned(),
                    stage_name: node.stage.name().to_owned(),
                    stage_number: node.stage_number() as i32,
                    execution_group: node.execution_group as i32,
                    attempt: 0,
                    status: Status::Running,
                    started_at: Some(started_at),
                    config: Some(stage_config(&self.config, &self.stage_id)),
                };
                tx.create_stage(new, started_at).await?
            }
        };
        let started = WorkflowEvent {
            kind: EventKind::StageStarted {
                stage_id: stage.stage_id.clone(),
                stage_name: stage.stage_name.clone(),
                stage_number: stage.stage_number,
            },
            timestamp: started_at,
            workflow_run_id: run.id.clone(),
        };
        kernel
            .commit::<()>(tx, &[started], &causation, None)
            .await?;

        // Phase 2: the stage body, with no transaction open.
        let span = tracing::info_span!("stage", run_id = %run.id, stage_id = %stage.stage_id, attempt = stage.attempt);
        let input = if node.stage.reads_context_only() {
            Some(Value::Null)
        } else {
            resolve_input(&definition, node.execution_group, &run.input, &outputs)
        };
        let phase_three = PhaseThree {
            kernel,
            run: &run,
            stage: &stage,
            started_at,
            causation: &causation,
            lease: self.lease.as_ref(),
        };
        let Some(input) = input else {
            let group = node.execution_group;
            let message = format!(
                "Stage {} (execution group {group}) is missing the output of execution group {} — cannot resolve input",
                stage.stage_id,
                group - 1
            );
            return phase_three
                .record(
                    Outcome::Failed {
                        message,
                        retryable: Some(false),
                    },
                    Default::default(),
                )
                .await;
        };
        let logs = LogWriter::start(
            ports.persistence.clone(),
            ports.clock.clone(),
            run.id.clone(),
            stage.id.clone(),
        );
        let env = stage_env(
            ports.blobs.clone(),
            &run,
            &stage,
            logs.recorder(),
            stage_config(&self.config, &self.stage_id),
        )
        .with_outputs(outputs)
        .with_resume_state(stage.suspended_state.clone());
        let activity = Activity {
            stage: node.stage.clone(),
            env,
            input,
        };
        let result = ports
            .executor
            .execute(activity)
            .instrument(span.clone())
            .await;
        logs.finish().await;

        // Phase 3: record the outcome.
        let outcome = match result.outcome {
            Ok(step) => Outcome::from_step(step),
            Err(error) => Outcome::Failed {
                message: error.to_string(),
                retryable: error.retryable_hint(),
            },
        };
        phase_three
            .record(outcome, result.recorded)
            .instrument(span)
            .await
    }
}
