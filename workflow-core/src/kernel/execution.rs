//! The stage hot path after the lease ([`Kernel::lease_jobs`], in `lease.rs`): [`Kernel::execute_leased`]
//! runs a body with no transaction open and records its outcome, the job's end and the run's transition in
//! one transaction.

use super::Kernel;
use super::commands::{JobExecuted, Outcome};
use super::context::{OutputKeys, read_external, resolve_input, stage_env};
use super::error::KernelError;
use super::logs::LogWriter;
use super::retry::RetryPolicy;
use super::unit::UnitOfWork;
use crate::definition::outputs::StageOutputs;
use crate::definition::workflow::WorkflowDefinition;
use crate::ports::{Activity, JobClaim, JobLease, JobRecord, RunRecord, StageRecord};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// A job this worker leased, with its run, its `RUNNING` stage row and the outputs the stage reads.
pub struct LeasedJob {
    pub(super) job: JobRecord,
    pub(super) run: RunRecord,
    pub(super) stage: StageRecord,
    pub(super) definition: Arc<WorkflowDefinition>,
    pub(super) outputs: StageOutputs,
}

/// A leased job whose stage may be interrupted ([`Kernel::record_interrupted`]).
pub struct Interrupted(Execution);

impl LeasedJob {
    fn execution(&self, retry: &RetryPolicy, now: DateTime<Utc>) -> Execution {
        Execution {
            started_at: self.stage.started_at.unwrap_or(now),
            run: self.run.clone(),
            stage: self.stage.clone(),
            definition: self.definition.clone(),
            lease: Some(self.job.lease()),
            retry: Some((self.job.attempt, self.job.max_attempts, retry.clone())),
            causation: format!("job:{}:attempt:{}", self.job.id, self.job.attempt),
            transition: true,
            idempotency_key: None,
            lease_next: None,
        }
    }

    /// What [`Kernel::record_interrupted`] needs, should this job's stage be interrupted; retried at once.
    pub fn interruption(&self) -> Interrupted {
        let now_retry = RetryPolicy {
            base: std::time::Duration::ZERO,
            max_delay: std::time::Duration::ZERO,
            jitter: false,
        };
        let mut execution = self.execution(&now_retry, chrono::Utc::now());
        execution.causation = format!(
            "job:{}:attempt:{}:interrupted",
            self.job.id, self.job.attempt
        );
        Interrupted(execution)
    }

    /// Replaces the run config the job carries (`payload.config`), as another engine might have written
    /// it (tests of config handling).
    #[doc(hidden)]
    pub fn override_run_config(&mut self, config: Value) {
        self.job.payload = serde_json::json!({ "config": config });
    }

    /// The job row as leased (`RUNNING`, this worker, the new attempt).
    pub fn job(&self) -> &JobRecord {
        &self.job
    }

    /// The lease (job id and attempt, the fencing token).
    pub fn lease(&self) -> JobLease {
        self.job.lease()
    }

    /// The `job` span everything done for this job runs in (run id, stage id, job id, attempt, worker).
    pub fn span(&self, worker_id: &str) -> tracing::Span {
        tracing::info_span!(
            "job",
            run_id = %self.run.id,
            stage_id = %self.stage.stage_id,
            job_id = %self.job.id,
            attempt = self.job.attempt,
            worker_id = %worker_id,
        )
    }
}

impl std::fmt::Debug for LeasedJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeasedJob")
            .field("job_id", &self.job.id)
            .field("run_id", &self.run.id)
            .field("stage_id", &self.stage.stage_id)
            .field("attempt", &self.job.attempt)
            .finish_non_exhaustive()
    }
}

/// How a leased job is executed.
#[derive(Clone, Debug, Default)]
pub struct ExecuteOptions {
    /// When a failed stage runs again.
    pub retry: RetryPolicy,
}

/// Everything recording an outcome needs.
#[derive(Clone)]
pub(crate) struct Execution {
    pub run: RunRecord,
    pub stage: StageRecord,
    pub definition: Arc<WorkflowDefinition>,
    /// The job lease (leased path); writes are fenced by it.
    pub lease: Option<JobLease>,
    /// `(attempt, maxAttempts, policy)` of a leased job, to decide on a retry.
    pub retry: Option<(i32, i32, RetryPolicy)>,
    pub causation: String,
    pub started_at: DateTime<Utc>,
    /// Transition the run with the outcome (leased path).
    pub transition: bool,
    /// Complete this idempotency key with the result (direct `job.execute` with a key).
    pub idempotency_key: Option<String>,
    /// Lease these jobs in the transaction that records the outcome (the hand-off to the next stage),
    /// unless the token is cancelled by then (the host is stopping).
    pub lease_next: Option<(JobClaim, CancellationToken)>,
}

/// What [`Kernel::execute_then_lease`] did: the job's result, and the jobs leased for the slot it freed
/// in the same transaction.
pub struct Handoff {
    /// The result of the executed job.
    pub result: JobExecuted,
    /// Jobs now leased to the worker (at most the `limit` asked for; empty when none was claimable, the
    /// outcome was not recorded normally, or outputs live outside the database).
    pub next: Vec<LeasedJob>,
}

/// The outcome of phase 1 of a direct `job.execute`.
pub(crate) enum Started {
    /// Nothing to execute; the result.
    Skip(JobExecuted),
    /// Execute.
    Run(Box<(Execution, StageOutputs)>),
}

impl Kernel {
    /// Reads the outputs of `ids` for a stage of `run` (whose rows are `stages`, when known).
    pub(crate) async fn read_outputs(
        &self,
        unit: &mut UnitOfWork<'_>,
        run: &RunRecord,
        stages: &[StageRecord],
        ids: &[&str],
    ) -> Result<StageOutputs, KernelError> {
        if ids.is_empty() {
            return Ok(StageOutputs::new());
        }
        let keys = OutputKeys::from_rows(stages, ids);
        let values = if self.ports().blobs_in_store {
            unit.tx.get_blobs(&keys.key_list()).await?
        } else {
            read_external(&*self.ports().blobs, &keys.key_list()).await?
        };
        let (outputs, missing) = keys.resolve(&values);
        warn_missing(run, &missing);
        Ok(outputs)
    }

    /// Runs a leased job's stage and records its outcome with the job's end and the run's transition.
    /// A failed stage goes back to the queue per `options.retry` while attempts remain. Store errors while
    /// recording are retried without running the body again; an `Err` means recording was impossible
    /// within [`KernelConfig::record_retry_budget`](super::KernelConfig) and the job is left to be
    /// re-leased when its lease goes stale.
    pub async fn execute_leased(
        &self,
        job: LeasedJob,
        options: &ExecuteOptions,
    ) -> Result<JobExecuted, KernelError> {
        self.execute_then_lease(job, options, "", 0, &CancellationToken::new())
            .await
            .map(|handoff| handoff.result)
    }

    /// [`execute_leased`](Self::execute_leased), and in the transaction that records the outcome, leases
    /// up to `limit` more jobs for `worker_id` (highest priority, then oldest, as [`Kernel::lease_jobs`]
    /// would): a worker hands a slot from one stage to the next in one transaction instead of two. With
    /// a blob store outside the database the jobs are leased after the commit instead (their outputs are
    /// read from it). `limit` 0 leases nothing, and nothing is leased once `stopping` is cancelled (it is
    /// checked when the outcome is recorded: a host stopping while the stage runs starts nothing new).
    pub async fn execute_then_lease(
        &self,
        job: LeasedJob,
        options: &ExecuteOptions,
        worker_id: &str,
        limit: usize,
        stopping: &CancellationToken,
    ) -> Result<Handoff, KernelError> {
        let span = job.span(worker_id);
        self.handoff(job, options, worker_id, limit, stopping)
            .instrument(span)
            .await
    }

    /// [`execute_then_lease`](Self::execute_then_lease) without a span of its own, for hosts that run the
    /// whole job (heartbeat included) in [`LeasedJob::span`].
    pub(crate) async fn handoff(
        &self,
        job: LeasedJob,
        options: &ExecuteOptions,
        worker_id: &str,
        limit: usize,
        stopping: &CancellationToken,
    ) -> Result<Handoff, KernelError> {
        let in_store = self.ports().blobs_in_store;
        let mut execution = job.execution(&options.retry, self.ports().clock.now());
        if limit > 0 && in_store {
            execution.lease_next = Some((self.job_claim(worker_id, limit), stopping.clone()));
        }
        let config = job.job.run_config();
        let mut handoff = self.run_execution(execution, job.outputs, &config).await?;
        if limit > 0 && !in_store && handoff.result.settled_normally() && !stopping.is_cancelled() {
            handoff.next = self.lease_jobs(worker_id, limit).await?;
        }
        Ok(handoff)
    }

    /// Records that a leased job's stage was interrupted (its body was dropped, for example when a host
    /// stopped after its grace period): the stage fails with `reason` and its job goes back to the queue at
    /// once while attempts remain.
    pub async fn record_interrupted(
        &self,
        interrupted: Interrupted,
        reason: String,
    ) -> Result<JobExecuted, KernelError> {
        let outcome = Outcome::Failed {
            message: reason,
            retryable: Some(true),
        };
        self.record(&interrupted.0, outcome, Default::default())
            .await
    }

    /// Phase 2 and 3: the body with no transaction open, then its outcome recorded.
    pub(crate) async fn run_execution(
        &self,
        execution: Execution,
        outputs: StageOutputs,
        run_config: &Value,
    ) -> Result<Handoff, KernelError> {
        let ports = self.ports();
        let node = execution
            .definition
            .stage(&execution.stage.stage_id)
            .expect("the stage belongs to the workflow")
            .clone();
        let input = if node.stage.reads_context_only() {
            Some(Value::Null)
        } else {
            resolve_input(
                &execution.definition,
                node.execution_group,
                &execution.run.input,
                &outputs,
            )
        };
        let Some(input) = input else {
            let group = node.execution_group;
            let message = format!(
                "Stage {} (execution group {group}) is missing the output of execution group {} — cannot resolve input",
                execution.stage.stage_id,
                group - 1
            );
            let outcome = Outcome::Failed {
                message,
                retryable: Some(false),
            };
            return self
                .record_then(&execution, outcome, Default::default())
                .await;
        };
        let logs = LogWriter::start(
            ports.store.clone(),
            ports.clock.clone(),
            execution.run.id.clone(),
            execution.stage.id.clone(),
        );
        let env = stage_env(
            ports,
            &execution.run,
            &execution.stage,
            logs.recorder(),
            super::groups::stage_config(run_config, &execution.stage.stage_id),
        )
        .with_outputs(outputs)
        .with_resume_state(execution.stage.suspended_state.clone());
        let activity = Activity {
            stage: node.stage.clone(),
            env,
            input,
        };
        let result = ports.executor.execute(activity).await;
        logs.finish().await;
        let outcome = match result.outcome {
            Ok(step) => Outcome::from_step(step),
            Err(error) => Outcome::Failed {
                message: error.to_string(),
                retryable: error.retryable_hint(),
            },
        };
        self.record_then(&execution, outcome, result.recorded).await
    }
}

pub(super) fn warn_missing(run: &RunRecord, missing: &[String]) {
    for stage_id in missing {
        tracing::warn!(run_id = %run.id, %stage_id, "the output of a completed stage is missing from the blob store");
    }
}
