//! Phase 3 of `job.execute`: the stage's outcome (completed, suspended or failed) written in one
//! transaction guarded by the run's status and the job's lease, with the buffered progress events and
//! annotations. A guard that fails rolls everything back and makes the result a ghost.

use super::job_execute::{JobExecuted, JobOutcome};
use crate::definition::dyn_stage::StepOutcome;
use crate::definition::record::Recorded;
use crate::definition::stage::PollSettings;
use crate::kernel::annotations::AnnotationScope;
use crate::kernel::{Kernel, KernelError};
use crate::ports::blob::keys;
use crate::ports::{
    EventKind, JobLease, NewLog, RunRecord, Session, StageRecord, StageUpdate, Status,
    WorkflowEvent,
};
use crate::time::{add, duration_ms, millis_between};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

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

/// Everything phase 3 needs from phases 1 and 2.
pub(crate) struct PhaseThree<'a> {
    pub kernel: &'a Kernel,
    pub run: &'a RunRecord,
    pub stage: &'a StageRecord,
    pub started_at: DateTime<Utc>,
    pub causation: &'a str,
    pub lease: Option<&'a JobLease>,
}

/// The stage's metrics: real timings plus what the stage recorded (`totalCost`, `totalTokens`, custom).
fn metrics(started_at: DateTime<Utc>, now: DateTime<Utc>, recorded: &Map<String, Value>) -> Value {
    let mut metrics = Map::new();
    metrics.insert("startTime".into(), json!(started_at.timestamp_millis()));
    metrics.insert("endTime".into(), json!(now.timestamp_millis()));
    metrics.insert("duration".into(), json!(millis_between(started_at, now)));
    metrics.extend(recorded.iter().map(|(k, v)| (k.clone(), v.clone())));
    Value::Object(metrics)
}

impl PhaseThree<'_> {
    pub(crate) async fn record(
        self,
        outcome: Outcome,
        recorded: Recorded,
    ) -> Result<JobExecuted, KernelError> {
        match outcome {
            Outcome::Failed { message, retryable } => {
                self.failed(message, retryable, recorded).await
            }
            Outcome::Done(output) => self.completed(output, recorded).await,
            Outcome::Suspend { state, poll } => self.suspended(state, poll, recorded).await,
        }
    }

    /// A transaction in which the run is `RUNNING` and the lease holds, or the ghost message.
    async fn guarded(&self) -> Result<Result<Box<dyn Session>, String>, KernelError> {
        let ports = self.kernel.ports();
        let mut tx = ports.persistence.begin().await?;
        let status = tx
            .get_run(&self.run.id)
            .await?
            .map_or_else(|| "DELETED".to_owned(), |run| run.status.to_string());
        if status != Status::Running.as_str() {
            return Ok(Err(format!(
                "Run {} is {status}, not RUNNING — transactional write aborted",
                self.run.id
            )));
        }
        if let Some(lease) = self.lease
            && !ports.jobs.check_lease(&mut *tx, lease).await?
        {
            return Ok(Err(format!(
                "job {} lost its lease (attempt {}) — transactional write aborted",
                lease.job_id, lease.attempt
            )));
        }
        Ok(Ok(tx))
    }

    fn event(&self, kind: EventKind, now: DateTime<Utc>) -> WorkflowEvent {
        WorkflowEvent {
            kind,
            timestamp: now,
            workflow_run_id: self.run.id.clone(),
        }
    }

    /// Progress events, the terminal events, then annotation events; annotation rows are appended to `tx`.
    async fn events(
        &self,
        tx: &mut dyn Session,
        recorded: &Recorded,
        terminal: Vec<EventKind>,
        now: DateTime<Utc>,
    ) -> Result<Vec<WorkflowEvent>, KernelError> {
        let mut events: Vec<WorkflowEvent> = recorded
            .progress
            .iter()
            .map(|update| {
                self.event(
                    EventKind::StageProgress {
                        stage_id: self.stage.stage_id.clone(),
                        stage_name: self.stage.stage_name.clone(),
                        progress: update.progress,
                        message: update.message.clone(),
                        details: update.details.clone(),
                    },
                    now,
                )
            })
            .collect();
        events.extend(terminal.into_iter().map(|kind| self.event(kind, now)));
        let (rows, annotation_events) =
            AnnotationScope::stage(self.stage).rows_for_recorded(&recorded.annotations, now);
        if !rows.is_empty() {
            tx.append_annotations(rows, now).await?;
        }
        events.extend(annotation_events);
        Ok(events)
    }

    async fn failed(
        self,
        message: String,
        retryable: Option<bool>,
        recorded: Recorded,
    ) -> Result<JobExecuted, KernelError> {
        let ports = self.kernel.ports();
        let now = ports.clock.now();
        let mut tx = match self.guarded().await? {
            Ok(tx) => tx,
            Err(ghost) => return Ok(JobExecuted::ghost(ghost)),
        };
        let update = StageUpdate {
            status: Some(Status::Failed),
            completed_at: Some(Some(now)),
            duration: Some(Some(millis_between(self.started_at, now))),
            error_message: Some(Some(message.clone())),
            metrics: Some(Some(metrics(self.started_at, now, &recorded.metrics))),
            ..Default::default()
        };
        tx.update_stage(&self.stage.id, update, None, now).await?;
        let failed = EventKind::StageFailed {
            stage_id: self.stage.stage_id.clone(),
            stage_name: self.stage.stage_name.clone(),
            error: message.clone(),
        };
        let events = self.events(&mut *tx, &recorded, vec![failed], now).await?;
        self.kernel
            .commit::<()>(tx, &events, self.causation, None)
            .await?;
        tracing::warn!(error = %message, "stage failed");
        let log = NewLog {
            workflow_run_id: Some(self.run.id.clone()),
            workflow_stage_id: Some(self.stage.id.clone()),
            level: "ERROR".into(),
            message: format!("Stage {} failed: {message}", self.stage.stage_id),
            metadata: None,
        };
        if let Err(error) = async {
            ports
                .persistence
                .session()
                .await?
                .create_log(log, now)
                .await
        }
        .await
        {
            tracing::warn!(%error, "could not write the failure log line");
        }
        Ok(JobExecuted {
            outcome: JobOutcome::Failed,
            output: None,
            error: Some(message),
            next_poll_at: None,
            ghost: false,
            retryable,
        })
    }

    async fn completed(
        self,
        output: Value,
        recorded: Recorded,
    ) -> Result<JobExecuted, KernelError> {
        let ports = self.kernel.ports();
        // Do not store the output of a run that was cancelled meanwhile, or of a job whose lease was lost.
        let mut session = ports.persistence.session().await?;
        let status = session.get_run(&self.run.id).await?.map(|run| run.status);
        if status != Some(Status::Running) {
            let status = status.map_or_else(|| "DELETED".to_owned(), |s| s.to_string());
            return Ok(JobExecuted::ghost(format!(
                "Run {} was {status} after stage execution — result discarded",
                self.run.id
            )));
        }
        if let Some(lease) = self.lease
            && !ports.jobs.check_lease(&mut *session, lease).await?
        {
            return Ok(JobExecuted::ghost(format!(
                "job {} lost its lease (attempt {}) — result discarded",
                lease.job_id, lease.attempt
            )));
        }
        drop(session);
        let (workflow_type, run_id, stage_id) =
            (&self.run.workflow_type, &self.run.id, &self.stage.stage_id);
        let delivery = self.lease.map(|lease| lease.attempt);
        let output_key = keys::output_key(workflow_type, run_id, stage_id, delivery);
        ports.blobs.put(&output_key, &output).await?;
        let mut artifact_keys = Map::new();
        for (name, value) in &recorded.artifacts {
            let key = keys::artifact_key(workflow_type, run_id, stage_id, name, delivery);
            ports.blobs.put(&key, value).await?;
            artifact_keys.insert(name.clone(), Value::String(key));
        }
        let mut output_data = json!({ "_artifactKey": output_key });
        if !artifact_keys.is_empty() {
            output_data["_artifactKeys"] = Value::Object(artifact_keys);
        }

        let now = ports.clock.now();
        let mut tx = match self.guarded().await? {
            Ok(tx) => tx,
            Err(ghost) => return Ok(JobExecuted::ghost(ghost)),
        };
        let duration = millis_between(self.started_at, now);
        let update = StageUpdate {
            status: Some(Status::Completed),
            completed_at: Some(Some(now)),
            duration: Some(Some(duration)),
            output_data: Some(Some(output_data)),
            metrics: Some(Some(metrics(self.started_at, now, &recorded.metrics))),
            // A stage that succeeds on retry does not keep the previous attempt's error.
            error_message: Some(None),
            ..Default::default()
        };
        tx.update_stage(&self.stage.id, update, None, now).await?;
        let completed = EventKind::StageCompleted {
            stage_id: stage_id.clone(),
            stage_name: self.stage.stage_name.clone(),
            duration,
        };
        let events = self
            .events(&mut *tx, &recorded, vec![completed], now)
            .await?;
        self.kernel
            .commit::<()>(tx, &events, self.causation, None)
            .await?;
        tracing::info!(duration_ms = duration, "stage completed");
        Ok(JobExecuted::completed(Some(output)))
    }

    async fn suspended(
        self,
        state: Value,
        poll: PollSettings,
        recorded: Recorded,
    ) -> Result<JobExecuted, KernelError> {
        let ports = self.kernel.ports();
        let now = ports.clock.now();
        let next_poll_at = poll
            .first_poll_at
            .map_or_else(|| add(now, poll.poll_interval), crate::time::truncate_ms);
        let mut tx = match self.guarded().await? {
            Ok(tx) => tx,
            Err(ghost) => return Ok(JobExecuted::ghost(ghost)),
        };
        let update = StageUpdate {
            status: Some(Status::Suspended),
            suspended_state: Some(Some(state)),
            next_poll_at: Some(Some(next_poll_at)),
            poll_interval: Some(Some(duration_ms(poll.poll_interval))),
            max_wait_until: Some(Some(add(now, poll.max_wait))),
            metrics: Some(Some(metrics(self.started_at, now, &recorded.metrics))),
            ..Default::default()
        };
        tx.update_stage(&self.stage.id, update, None, now).await?;
        let terminal = vec![
            EventKind::StageSuspended {
                stage_id: self.stage.stage_id.clone(),
                stage_name: self.stage.stage_name.clone(),
                next_poll_at,
            },
            EventKind::WorkflowSuspended {
                stage_id: self.stage.stage_id.clone(),
            },
        ];
        let events = self.events(&mut *tx, &recorded, terminal, now).await?;
        self.kernel
            .commit::<()>(tx, &events, self.causation, None)
            .await?;
        tracing::info!(next_poll_at = %next_poll_at, "stage suspended");
        Ok(JobExecuted {
            outcome: JobOutcome::Suspended,
            output: None,
            error: None,
            next_poll_at: Some(next_poll_at),
            ghost: false,
            retryable: None,
        })
    }
}
