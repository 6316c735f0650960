//! Preparing a stage outcome for its recording transaction (phase 3 of an execution): the stage write
//! (output or blob reference, metrics, suspension, error), the command's result, the outputs known to the
//! transition, and the failure log line. Outputs stored outside the database are written here, before the
//! transaction.

use super::job_execute::{JobExecuted, JobOutcome};
use super::job_outcome::Outcome;
use crate::definition::outputs::StageOutputs;
use crate::definition::record::Recorded;
use crate::kernel::context::output_key;
use crate::kernel::execution::Execution;
use crate::kernel::{Kernel, KernelError, validate};
use crate::ports::blob::keys;
use crate::ports::{EventKind, JobEnd, NewLog, StageUpdate, StageWrite, Status, WorkflowEvent};
use crate::time::{add, duration_ms, millis_between};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

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
pub(super) struct Prepared {
    pub(super) write: StageWrite,
    pub(super) result: JobExecuted,
    pub(super) known: StageOutputs,
    pub(super) log: Option<NewLog>,
}

impl Kernel {
    /// The write of `outcome` (writing outputs first when they live outside the database).
    pub(super) async fn prepare(
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
}
