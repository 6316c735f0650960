//! Phase 3 of a stage execution: its outcome (completed, suspended or failed) recorded in one transaction
//! with the job's end, the buffered progress events and annotations, and (on the leased path) the run's
//! transition. The transaction is guarded by the run being `RUNNING` and by the job's lease; it is retried
//! after transient store errors without running the body again.

use super::job_execute::{JobExecuted, JobOutcome};
use crate::definition::dyn_stage::StepOutcome;
use crate::definition::outputs::StageOutputs;
use crate::definition::record::Recorded;
use crate::definition::stage::PollSettings;
use crate::kernel::annotations::AnnotationScope;
use crate::kernel::context::output_key;
use crate::kernel::execution::{Execution, Handoff, LeasedJob};
use crate::kernel::retry::record_backoff;
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError, validate};
use crate::ports::blob::keys;
use crate::ports::{
    EventKind, JobEnd, NewLog, Signal, StageUpdate, StageWrite, Status, WorkflowEvent,
};
use crate::time::{add, duration_ms, millis_between};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
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

/// The stage's metrics: real timings plus what the stage recorded (`totalCost`, `totalTokens`, custom).
fn metrics(started_at: DateTime<Utc>, now: DateTime<Utc>, recorded: &Map<String, Value>) -> Value {
    let mut metrics = Map::new();
    metrics.insert("startTime".into(), json!(started_at.timestamp_millis()));
    metrics.insert("endTime".into(), json!(now.timestamp_millis()));
    metrics.insert("duration".into(), json!(millis_between(started_at, now)));
    metrics.extend(recorded.iter().map(|(k, v)| {
        (
            validate::scrub_text(k.clone()),
            validate::scrub_json(v.clone()),
        )
    }));
    Value::Object(metrics)
}

/// One outcome prepared for writing: the stage write, the result, and what else goes with it.
struct Prepared {
    write: StageWrite,
    result: JobExecuted,
    known: StageOutputs,
    log: Option<NewLog>,
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

    /// The write of `outcome` (writing outputs first when they live outside the database).
    async fn prepare(
        &self,
        execution: &Execution,
        outcome: &Outcome,
        recorded: &Recorded,
    ) -> Result<Prepared, KernelError> {
        let ports = self.ports();
        let now = ports.clock.now();
        let (run, stage) = (&execution.run, &execution.stage);
        let event = |kind| WorkflowEvent {
            kind,
            timestamp: now,
            workflow_run_id: run.id.clone(),
        };
        let mut events: Vec<WorkflowEvent> = recorded
            .progress
            .iter()
            .map(|update| {
                event(EventKind::StageProgress {
                    stage_id: stage.stage_id.clone(),
                    stage_name: stage.stage_name.clone(),
                    progress: update.progress,
                    message: validate::scrub_text(update.message.clone()),
                    details: update.details.clone().map(validate::scrub_json),
                })
            })
            .collect();
        let duration = millis_between(execution.started_at, now);
        let stage_metrics = Some(Some(metrics(execution.started_at, now, &recorded.metrics)));
        let mut known = StageOutputs::new();
        let mut blobs = Vec::new();
        let mut log = None;
        let (update, job_end, result) = match outcome {
            Outcome::Done(output) => {
                let in_store = ports.blobs_in_store;
                let attempt = execution.lease.as_ref().map(|lease| lease.attempt);
                let key = output_key(in_store, run, &stage.stage_id, attempt);
                let mut artifact_keys = Map::new();
                blobs.push((key.clone(), output.clone()));
                for (name, value) in &recorded.artifacts {
                    let delivery = if in_store { None } else { attempt };
                    let artifact = keys::artifact_key(
                        &run.workflow_type,
                        &run.id,
                        &stage.stage_id,
                        name,
                        delivery,
                    );
                    blobs.push((artifact.clone(), validate::scrub_json(value.clone())));
                    artifact_keys.insert(name.clone(), Value::String(artifact));
                }
                if !in_store {
                    for (key, value) in std::mem::take(&mut blobs) {
                        ports.blobs.put(&key, &value).await?;
                    }
                }
                let mut output_data = json!({ "_artifactKey": key });
                if !artifact_keys.is_empty() {
                    output_data["_artifactKeys"] = Value::Object(artifact_keys);
                }
                known.insert(stage.stage_id.clone(), output.clone());
                events.push(event(EventKind::StageCompleted {
                    stage_id: stage.stage_id.clone(),
                    stage_name: stage.stage_name.clone(),
                    duration,
                }));
                let update = StageUpdate {
                    status: Some(Status::Completed),
                    completed_at: Some(Some(now)),
                    duration: Some(Some(duration)),
                    output_data: Some(Some(output_data)),
                    metrics: stage_metrics,
                    // A stage that succeeds on retry does not keep the previous attempt's error.
                    error_message: Some(None),
                    ..Default::default()
                };
                (
                    update,
                    JobEnd::Complete,
                    JobExecuted::completed(Some(output.clone())),
                )
            }
            Outcome::Suspend { state, poll } => {
                let next_poll_at = poll
                    .first_poll_at
                    .map_or_else(|| add(now, poll.poll_interval), crate::time::truncate_ms);
                events.push(event(EventKind::StageSuspended {
                    stage_id: stage.stage_id.clone(),
                    stage_name: stage.stage_name.clone(),
                    next_poll_at,
                }));
                events.push(event(EventKind::WorkflowSuspended {
                    stage_id: stage.stage_id.clone(),
                }));
                let update = StageUpdate {
                    status: Some(Status::Suspended),
                    suspended_state: Some(Some(state.clone())),
                    next_poll_at: Some(Some(next_poll_at)),
                    poll_interval: Some(Some(duration_ms(poll.poll_interval))),
                    max_wait_until: Some(Some(add(now, poll.max_wait))),
                    metrics: stage_metrics,
                    ..Default::default()
                };
                let result = JobExecuted {
                    outcome: JobOutcome::Suspended,
                    next_poll_at: Some(next_poll_at),
                    ..JobExecuted::completed(None)
                };
                (update, JobEnd::Suspend { next_poll_at }, result)
            }
            Outcome::Failed { message, retryable } => {
                let message = validate::scrub_text(message.clone());
                let retry_at = match &execution.retry {
                    Some((attempt, max_attempts, policy))
                        if *retryable != Some(false) && attempt < max_attempts =>
                    {
                        Some(add(now, policy.delay(*attempt)))
                    }
                    _ => None,
                };
                events.push(event(EventKind::StageFailed {
                    stage_id: stage.stage_id.clone(),
                    stage_name: stage.stage_name.clone(),
                    error: message.clone(),
                }));
                log = Some(NewLog {
                    workflow_run_id: Some(run.id.clone()),
                    workflow_stage_id: Some(stage.id.clone()),
                    level: crate::definition::record::LogLevel::Error,
                    message: format!("Stage {} failed: {message}", stage.stage_id),
                    metadata: None,
                });
                let update = StageUpdate {
                    status: Some(Status::Failed),
                    completed_at: Some(Some(now)),
                    duration: Some(Some(duration)),
                    error_message: Some(Some(message.clone())),
                    metrics: stage_metrics,
                    ..Default::default()
                };
                let result = JobExecuted {
                    retry_at,
                    ..JobExecuted::failed(message.clone(), *retryable)
                };
                (
                    update,
                    JobEnd::Fail {
                        error: message,
                        retry_at,
                    },
                    result,
                )
            }
        };
        let write = StageWrite {
            run_id: run.id.clone(),
            stage_record_id: stage.id.clone(),
            update,
            blobs,
            job: execution.lease.clone().map(|lease| (lease, job_end)),
            events: super::super::outbox::rows(&events, &execution.causation),
        };
        Ok(Prepared {
            write,
            result,
            known,
            log,
        })
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
