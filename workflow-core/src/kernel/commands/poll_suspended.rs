//! `stage.pollSuspended` (reference §5.7): asks due suspended stages whether their work is done. Each
//! `check_completion` runs outside any transaction; each outcome is written in its own short transaction,
//! guarded by the run being `RUNNING` and by a version claim on the run row.

use crate::definition::dyn_stage::CheckOutcome;
use crate::definition::record::Recorded;
use crate::definition::stage::StageMode;
use crate::kernel::annotations::AnnotationScope;
use crate::kernel::context::stage_env;
use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::logs::LogWriter;
use crate::kernel::{Kernel, KernelError};
use crate::ports::blob::keys;
use crate::ports::executor::panic_message;
use crate::ports::{
    EventKind, RunRecord, RunUpdate, Session, StageRecord, StageUpdate, Status, StoreError,
    SuspendedJobEnd, WorkflowEvent,
};
use crate::time::{add, millis_between, to_js_iso};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::panic::AssertUnwindSafe;
use std::time::Duration;
use tracing::Instrument;

/// The poll interval used when a stage has none.
const FALLBACK_POLL_INTERVAL: Duration = Duration::from_secs(60);

/// Polls up to `max_checks` suspended stages whose `nextPollAt` has passed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StagePollSuspended {
    /// At most this many stages (default 50).
    pub max_checks: Option<usize>,
}

/// What the poll found. The kernel does not advance resumed runs: the caller dispatches `run.transition`
/// for each of `resumed_workflow_run_ids`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuspendedPolled {
    /// Stages examined.
    pub checked: usize,
    /// Stages completed.
    pub resumed: usize,
    /// Stages failed.
    pub failed: usize,
    /// Runs with a resumed stage.
    pub resumed_workflow_run_ids: Vec<String>,
}

enum Resolution {
    Completed {
        output: Value,
        recorded: Recorded,
    },
    /// Fail the stage and its run.
    Failed {
        message: String,
        recorded: Recorded,
    },
    Reschedule {
        next_poll_at: DateTime<Utc>,
        recorded: Recorded,
    },
}

impl Kernel {
    /// A transaction in which `run` is still `RUNNING` at the version read before polling (the claim bumps
    /// it). `None` when the run moved on; the stage is then cancelled if the run is no longer running.
    async fn claim_for_poll(
        &self,
        run: &RunRecord,
        stage: &StageRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<Box<dyn Session>>, KernelError> {
        let mut tx = self.ports().persistence.begin().await?;
        let current = tx.get_run(&run.id).await?;
        let claimed = match &current {
            Some(current) if current.status == Status::Running => {
                match tx
                    .update_run(&run.id, RunUpdate::default(), Some(run.version), now)
                    .await
                {
                    Ok(_) => true,
                    Err(StoreError::StaleVersion { .. }) => false,
                    Err(error) => return Err(error.into()),
                }
            }
            _ => false,
        };
        if claimed {
            return Ok(Some(tx));
        }
        let status = tx.get_run(&run.id).await?.map(|r| r.status);
        if status != Some(Status::Running) {
            self.cancel_stage(&mut *tx, stage, now).await?;
            tx.commit().await?;
        }
        Ok(None)
    }

    async fn cancel_stage(
        &self,
        tx: &mut dyn Session,
        stage: &StageRecord,
        now: DateTime<Utc>,
    ) -> Result<(), KernelError> {
        let update = StageUpdate {
            status: Some(Status::Cancelled),
            completed_at: Some(Some(now)),
            next_poll_at: Some(None),
            ..Default::default()
        };
        tx.update_stage(&stage.id, update, None, now).await?;
        self.ports()
            .jobs
            .settle_suspended(
                tx,
                &stage.workflow_run_id,
                &stage.stage_id,
                SuspendedJobEnd::Cancelled,
                now,
            )
            .await?;
        Ok(())
    }

    /// Fails only the stage (its workflow or definition is gone; nothing was polled).
    async fn fail_stage_only(
        &self,
        stage: &StageRecord,
        message: String,
        now: DateTime<Utc>,
    ) -> Result<(), KernelError> {
        let mut tx = self.ports().persistence.begin().await?;
        let update = StageUpdate {
            status: Some(Status::Failed),
            completed_at: Some(Some(now)),
            next_poll_at: Some(None),
            error_message: Some(Some(message.clone())),
            ..Default::default()
        };
        tx.update_stage(&stage.id, update, None, now).await?;
        self.ports()
            .jobs
            .settle_suspended(
                &mut *tx,
                &stage.workflow_run_id,
                &stage.stage_id,
                SuspendedJobEnd::Failed(message.clone()),
                now,
            )
            .await?;
        let event = WorkflowEvent {
            kind: EventKind::StageFailed {
                stage_id: stage.stage_id.clone(),
                stage_name: stage.stage_name.clone(),
                error: message,
            },
            timestamp: now,
            workflow_run_id: stage.workflow_run_id.clone(),
        };
        self.commit::<()>(tx, &[event], &crate::ids::uuid(), None)
            .await
    }

    async fn check_stage(
        &self,
        run: &RunRecord,
        stage: &StageRecord,
    ) -> Result<Option<Resolution>, KernelError> {
        let ports = self.ports();
        let fail_only = |message: String| async move {
            self.fail_stage_only(stage, message, ports.clock.now())
                .await
                .map(|()| None)
        };
        let Some(definition) = ports.registry.workflow(&run.workflow_id) else {
            return fail_only(format!(
                "Workflow {} not found in registry",
                run.workflow_id
            ))
            .await;
        };
        let Some(node) = definition.stage(&stage.stage_id) else {
            return fail_only(format!(
                "Stage {} not found in workflow {}",
                stage.stage_id, run.workflow_id
            ))
            .await;
        };
        if node.stage.mode() != StageMode::AsyncBatch {
            return fail_only(format!(
                "Stage {} does not support checkCompletion",
                stage.stage_id
            ))
            .await;
        }
        let logs = LogWriter::start(
            ports.persistence.clone(),
            ports.clock.clone(),
            run.id.clone(),
            stage.id.clone(),
        );
        let raw_config = stage.config.clone().unwrap_or_else(|| json!({}));
        let env = std::sync::Arc::new(stage_env(
            ports.blobs.clone(),
            run,
            stage,
            logs.recorder(),
            raw_config,
        ));
        let state = stage.suspended_state.clone().unwrap_or(Value::Null);
        let checked = AssertUnwindSafe(node.stage.check_completion(env.clone(), state))
            .catch_unwind()
            .await;
        logs.finish().await;
        let recorded = env.recorder().take();
        let now = ports.clock.now();
        let outcome = match checked {
            Ok(outcome) => outcome,
            Err(payload) => {
                let message = format!(
                    "checkCompletion of stage {} panicked: {}",
                    stage.stage_id,
                    panic_message(&*payload)
                );
                return Ok(Some(Resolution::Failed { message, recorded }));
            }
        };
        Ok(Some(match outcome {
            Err(error) => Resolution::Failed {
                message: error.to_string(),
                recorded,
            },
            Ok(CheckOutcome::Failed(message)) => Resolution::Failed { message, recorded },
            Ok(CheckOutcome::Ready(output)) => Resolution::Completed { output, recorded },
            Ok(CheckOutcome::NotReady { next_check_in }) => match stage.max_wait_until {
                Some(deadline) if deadline <= now => Resolution::Failed {
                    message: format!(
                        "Stage {} exceeded maxWaitUntil ({}) while suspended",
                        stage.stage_id,
                        to_js_iso(deadline)
                    ),
                    recorded,
                },
                _ => {
                    let interval = next_check_in
                        .or_else(|| {
                            stage
                                .poll_interval
                                .map(|ms| Duration::from_millis(ms.max(0) as u64))
                        })
                        .unwrap_or(FALLBACK_POLL_INTERVAL);
                    Resolution::Reschedule {
                        next_poll_at: add(now, interval),
                        recorded,
                    }
                }
            },
        }))
    }

    /// Writes the resolution; returns whether the stage completed / failed.
    async fn resolve(
        &self,
        run: &RunRecord,
        stage: &StageRecord,
        resolution: Resolution,
    ) -> Result<(bool, bool), KernelError> {
        let ports = self.ports();
        let now = ports.clock.now();
        let causation = crate::ids::uuid();
        let output_key = keys::stage_key(&run.workflow_type, &run.id, &stage.stage_id, None);
        if let Resolution::Completed { output, .. } = &resolution {
            ports.blobs.put(&output_key, output).await?;
        }
        let Some(mut tx) = self.claim_for_poll(run, stage, now).await? else {
            return Ok((false, false));
        };
        let scope = AnnotationScope::stage(stage);
        let event = |kind| WorkflowEvent {
            kind,
            timestamp: now,
            workflow_run_id: run.id.clone(),
        };
        let (recorded, mut events, result) = match resolution {
            Resolution::Completed { recorded, .. } => {
                let duration = stage
                    .started_at
                    .map_or(0, |start| millis_between(start, now));
                let mut metrics = Map::new();
                metrics.insert("duration".into(), json!(duration));
                metrics.extend(recorded.metrics.iter().map(|(k, v)| (k.clone(), v.clone())));
                let update = StageUpdate {
                    status: Some(Status::Completed),
                    completed_at: Some(Some(now)),
                    duration: Some(Some(duration)),
                    next_poll_at: Some(None),
                    output_data: Some(Some(json!({ "_artifactKey": output_key }))),
                    metrics: Some(Some(Value::Object(metrics))),
                    error_message: Some(None),
                    ..Default::default()
                };
                tx.update_stage(&stage.id, update, None, now).await?;
                ports
                    .jobs
                    .settle_suspended(
                        &mut *tx,
                        &run.id,
                        &stage.stage_id,
                        SuspendedJobEnd::Completed,
                        now,
                    )
                    .await?;
                let completed = event(EventKind::StageCompleted {
                    stage_id: stage.stage_id.clone(),
                    stage_name: stage.stage_name.clone(),
                    duration,
                });
                (recorded, vec![completed], (true, false))
            }
            Resolution::Failed { message, recorded } => {
                let update = StageUpdate {
                    status: Some(Status::Failed),
                    completed_at: Some(Some(now)),
                    next_poll_at: Some(None),
                    error_message: Some(Some(message.clone())),
                    ..Default::default()
                };
                tx.update_stage(&stage.id, update, None, now).await?;
                let run_update = RunUpdate {
                    status: Some(Status::Failed),
                    completed_at: Some(Some(now)),
                    ..Default::default()
                };
                tx.update_run(&run.id, run_update, None, now).await?;
                // The suspended job fails with its stage, and no other job of the failed run stays claimable.
                ports
                    .jobs
                    .settle_suspended(
                        &mut *tx,
                        &run.id,
                        &stage.stage_id,
                        SuspendedJobEnd::Failed(message.clone()),
                        now,
                    )
                    .await?;
                ports.jobs.cancel_by_run(&mut *tx, &run.id, now).await?;
                tracing::warn!(run_id = %run.id, stage_id = %stage.stage_id, error = %message, "suspended stage failed");
                let events = vec![
                    event(EventKind::StageFailed {
                        stage_id: stage.stage_id.clone(),
                        stage_name: stage.stage_name.clone(),
                        error: message.clone(),
                    }),
                    event(EventKind::WorkflowFailed { error: message }),
                ];
                (recorded, events, (false, true))
            }
            Resolution::Reschedule {
                next_poll_at,
                recorded,
            } => {
                let update = StageUpdate {
                    next_poll_at: Some(Some(next_poll_at)),
                    ..Default::default()
                };
                tx.update_stage(&stage.id, update, None, now).await?;
                (recorded, Vec::new(), (false, false))
            }
        };
        let (rows, annotation_events) = scope.rows_for_recorded(&recorded.annotations, now);
        if !rows.is_empty() {
            tx.append_annotations(rows, now).await?;
        }
        events.extend(annotation_events);
        self.commit::<()>(tx, &events, &causation, None).await?;
        Ok(result)
    }
}

/// What polling one stage did.
enum PollResult {
    Resumed(String),
    Failed,
    Other,
}

impl Kernel {
    async fn poll_one(&self, stage: &StageRecord) -> Result<PollResult, KernelError> {
        let ports = self.ports();
        let run = ports
            .persistence
            .session()
            .await?
            .get_run(&stage.workflow_run_id)
            .await?;
        let Some(run) = run else {
            return Ok(PollResult::Other);
        };
        if run.status != Status::Running {
            let mut tx = ports.persistence.begin().await?;
            self.cancel_stage(&mut *tx, stage, ports.clock.now())
                .await?;
            tx.commit().await?;
            return Ok(PollResult::Other);
        }
        let Some(resolution) = self.check_stage(&run, stage).await? else {
            return Ok(PollResult::Failed);
        };
        Ok(match self.resolve(&run, stage, resolution).await? {
            (true, _) => PollResult::Resumed(run.id),
            (_, true) => PollResult::Failed,
            _ => PollResult::Other,
        })
    }
}

impl Command for StagePollSuspended {
    type Output = SuspendedPolled;
    const TYPE: &'static str = "stage.pollSuspended";

    async fn handle(
        self,
        kernel: &Kernel,
        _: Option<&Idempotency>,
        _: Token,
    ) -> Result<SuspendedPolled, KernelError> {
        let ports = kernel.ports();
        let now = ports.clock.now();
        let mut session = ports.persistence.session().await?;
        let due = session
            .suspended_stages_due(now, self.max_checks.unwrap_or(50))
            .await?;
        drop(session);
        let mut polled = SuspendedPolled::default();
        for stage in due {
            polled.checked += 1;
            let span = tracing::info_span!("poll", run_id = %stage.workflow_run_id, stage_id = %stage.stage_id);
            // One stage's problem (an unreadable row, a store error) is logged and does not stop the others.
            match kernel.poll_one(&stage).instrument(span).await {
                Ok(PollResult::Resumed(run_id)) => {
                    polled.resumed += 1;
                    if !polled.resumed_workflow_run_ids.contains(&run_id) {
                        polled.resumed_workflow_run_ids.push(run_id);
                    }
                }
                Ok(PollResult::Failed) => polled.failed += 1,
                Ok(PollResult::Other) => {}
                Err(error) => {
                    tracing::error!(run_id = %stage.workflow_run_id, stage_id = %stage.stage_id, %error, "polling a suspended stage failed")
                }
            }
        }
        Ok(polled)
    }
}
