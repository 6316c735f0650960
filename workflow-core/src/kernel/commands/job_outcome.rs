//! Phase 3 of a stage execution: its outcome (completed, suspended or failed) recorded in one transaction
//! with the job's end, the buffered progress events and annotations, and (on the leased path) the run's
//! transition. The transaction is guarded by the run being `RUNNING` and by the job's lease; it is retried
//! after transient store errors without running the body again.

use super::job_execute::{JobExecuted, JobOutcome};
use super::job_prepare::Prepared;
use crate::definition::dyn_stage::StepOutcome;
use crate::definition::record::Recorded;
use crate::definition::stage::PollSettings;
use crate::kernel::annotations::AnnotationScope;
use crate::kernel::execution::{Execution, Handoff, LeasedJob};
use crate::kernel::retry::record_backoff;
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError, validate};
use crate::ports::{JobEnd, Signal, Status};
use serde_json::Value;
use std::time::Instant;

/// What the stage body produced, ready to record.
pub(crate) enum Outcome {
    Done(Value),
    Suspend {
        state: Value,
        poll: PollSettings,
    },
    Failed {
        message: String,
        retryable: Option<bool>,
    },
}

impl Outcome {
    pub(crate) fn from_step(step: StepOutcome) -> Self {
        match step {
            StepOutcome::Done(output) => Outcome::Done(output),
            StepOutcome::Suspend { state, poll } => Outcome::Suspend { state, poll },
        }
    }
}

impl Kernel {
    /// Records `outcome`, retrying transient store errors for up to the record budget. An outcome that no
    /// store can hold (for example an output with a NUL byte) is recorded as a failure instead.
    pub(crate) async fn record(
        &self,
        execution: &Execution,
        outcome: Outcome,
        recorded: Recorded,
    ) -> Result<JobExecuted, KernelError> {
        self.record_then(execution, outcome, recorded)
            .await
            .map(|handoff| handoff.result)
    }

    /// [`record`](Self::record), leasing `execution.lease_next` in the same transaction.
    pub(crate) async fn record_then(
        &self,
        execution: &Execution,
        outcome: Outcome,
        recorded: Recorded,
    ) -> Result<Handoff, KernelError> {
        let mut outcome = match outcome {
            Outcome::Done(output) => match validate::nul_path("output", &output) {
                Some(path) => Outcome::Failed {
                    message: format!(
                        "Stage {} returned an output that cannot be stored: {}",
                        execution.stage.stage_id,
                        validate::nul_message(&path)
                    ),
                    retryable: Some(false),
                },
                None => Outcome::Done(output),
            },
            Outcome::Suspend { state, poll } => match validate::nul_path("state", &state) {
                Some(path) => Outcome::Failed {
                    message: format!(
                        "Stage {} suspended with a state that cannot be stored: {}",
                        execution.stage.stage_id,
                        validate::nul_message(&path)
                    ),
                    retryable: Some(false),
                },
                None => Outcome::Suspend { state, poll },
            },
            failed => failed,
        };
        let budget = self.ports().config.record_retry_budget;
        let begun = Instant::now();
        let mut tries = 0;
        loop {
            tries += 1;
            let prepared = self.prepare(execution, &outcome, &recorded).await?;
            let mut next = Vec::new();
            match self
                .write_outcome(execution, prepared, &recorded, &mut next)
                .await
            {
                Ok(result) => return Ok(Handoff { result, next }),
                Err(KernelError::Store(error))
                    if error.is_transient() && begun.elapsed() < budget =>
                {
                    let pause = record_backoff(tries);
                    tracing::warn!(%error, tries, ?pause, "recording the stage outcome failed; retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(KernelError::Store(error))
                    if !error.is_transient() && !matches!(outcome, Outcome::Failed { .. }) =>
                {
                    // The store refuses this outcome (not a passing failure): record the stage as failed
                    // with the reason, so that neither it nor its run stays RUNNING.
                    tracing::error!(%error, "the stage outcome cannot be stored; failing the stage");
                    outcome = Outcome::Failed {
                        message: format!(
                            "Stage {} finished but its outcome cannot be stored: {error}",
                            execution.stage.stage_id
                        ),
                        retryable: Some(false),
                    };
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One attempt at the outcome's transaction.
    async fn write_outcome(
        &self,
        execution: &Execution,
        prepared: Prepared,
        recorded: &Recorded,
        next: &mut Vec<LeasedJob>,
    ) -> Result<JobExecuted, KernelError> {
        let Prepared {
            write,
            result,
            known,
            log,
        } = prepared;
        self.transact(&execution.causation, async |unit| {
            let run = unit.tx.lock_run(&execution.run.id).await?;
            let status = run.as_ref().map(|r| r.status);
            if status != Some(Status::Running) {
                // The reference's two messages: a success found the run gone after execution, a failure or
                // suspension was refused by the guard of its write.
                let status = status.map_or_else(|| "DELETED".to_owned(), |s| s.to_string());
                let error = if result.outcome == JobOutcome::Completed {
                    format!("Run {} was {status} after stage execution — result discarded", execution.run.id)
                } else {
                    format!("Run {} is {status}, not RUNNING — transactional write aborted", execution.run.id)
                };
                return ghost(unit, execution, error).await;
            }
            let run = run.expect("checked above");
            let suspended = matches!(result.outcome, JobOutcome::Suspended);
            let Some(written) = unit.tx.record_stage(write, unit.now).await? else {
                unit.abandon();
                let lease = execution.lease.as_ref().expect("only leased writes are fenced");
                tracing::warn!(job_id = %lease.job_id, attempt = lease.attempt, "lease lost while the stage ran; its result is dropped");
                return Ok(JobExecuted::lease_lost(format!(
                    "job {} lost its lease (attempt {}) — result discarded",
                    lease.job_id, lease.attempt
                )));
            };
            unit.signal(Signal::Events);
            let scope = AnnotationScope::stage(&execution.stage);
            let (rows, annotation_events) = scope.rows_for_recorded(&recorded.annotations, unit.now);
            if !rows.is_empty() {
                unit.tx.append_annotations(rows, unit.now).await?;
            }
            unit.emit_all(annotation_events);
            if let Some(log) = log {
                unit.tx.create_logs(vec![log], unit.now).await?;
            }
            if suspended {
                unit.signal(Signal::Suspended);
            }
            let settled = match result.outcome {
                JobOutcome::Completed => true,
                JobOutcome::Failed => written.job_status == Some(Status::Failed),
                _ => false,
            };
            if execution.transition && settled {
                unit.transition(&run, &written.stages, &known).await?;
            }
            if written.job_status == Some(Status::Pending) {
                unit.signal(Signal::Jobs);
            }
            if let Some(key) = &execution.idempotency_key {
                let value = serde_json::to_value(&result).unwrap_or_default();
                unit.tx
                    .complete_idempotency_key(key, "job.execute", &value)
                    .await?;
            }
            match result.outcome {
                JobOutcome::Completed => tracing::info!("stage completed"),
                JobOutcome::Suspended => tracing::info!(next_poll_at = ?result.next_poll_at, "stage suspended"),
                _ => tracing::warn!(error = result.error.as_deref().unwrap_or(""), retry_at = ?result.retry_at, "stage failed"),
            }
            if let Some((claim, stopping)) = &execution.lease_next
                && !stopping.is_cancelled()
            {
                *next = self.lease_in(unit, claim).await?.1;
            }
            Ok(result)
        })
        .await
    }
}

/// The run is not `RUNNING`: nothing is written for the stage; a leased job is failed without retry.
async fn ghost(
    unit: &mut UnitOfWork<'_>,
    execution: &Execution,
    error: String,
) -> Result<JobExecuted, KernelError> {
    tracing::info!(%error, "ghost job discarded");
    if let Some(lease) = &execution.lease {
        let end = JobEnd::Fail {
            error: error.clone(),
            retry_at: None,
        };
        unit.tx.end_job(lease, &end, unit.now).await?;
    }
    if let Some(key) = &execution.idempotency_key {
        let value = serde_json::to_value(JobExecuted::ghost(error.clone())).unwrap_or_default();
        unit.tx
            .complete_idempotency_key(key, "job.execute", &value)
            .await?;
    }
    Ok(JobExecuted::ghost(error))
}
