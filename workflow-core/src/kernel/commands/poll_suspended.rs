//! `stage.pollSuspended` (reference §5.7): asks due suspended stages whether their work is done. Each
//! `check_completion` runs outside any transaction; each outcome is written in its own short transaction,
//! guarded by the run being `RUNNING` (its lock held) and the stage unchanged since it was read; a stage
//! that completes transitions its run in the same transaction. Hosts run it when the earliest `nextPollAt`
//! comes (and on their maintenance tick).

use crate::definition::dyn_stage::CheckOutcome;
use crate::definition::outputs::StageOutputs;
use crate::definition::record::Recorded;
use crate::definition::stage::StageMode;
use crate::ids::RunId;
use crate::kernel::annotations::AnnotationScope;
use crate::kernel::context::{output_key, stage_env};
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::logs::LogWriter;
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError, validate};
use crate::ports::executor::panic_message;
use crate::ports::{
    EventKind, RunRecord, RunUpdate, Signal, StageRecord, StageUpdate, Status, SuspendedJobEnd,
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

/// What the poll found. Resumed runs have already been transitioned with their stage.
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
    pub resumed_workflow_run_ids: Vec<RunId>,
}

/// What polling one stage did.
enum PollResult {
    Resumed(RunId),
    Failed,
    Other,
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

impl UnitOfWork<'_> {
    /// Cancels a suspended stage whose run is no longer running, and its job.
    async fn cancel_stage(&mut self, stage: &StageRecord) -> Result<(), KernelError> {
        let update = StageUpdate {
            status: Some(Status::Cancelled),
            completed_at: Some(Some(self.now)),
            next_poll_at: Some(None),
            ..Default::default()
        };
        self.tx
            .update_stage(&stage.id, update, None, self.now)
            .await?;
        self.tx
            .settle_suspended_job(
                &stage.workflow_run_id,
                &stage.stage_id,
                SuspendedJobEnd::Cancelled,
                self.now,
            )
            .await?;
        Ok(())
    }
}

impl Kernel {
    /// Fails only the stage (its workflow or definition is gone; nothing was polled).
    async fn fail_stage_only(
        &self,
        stage: &StageRecord,
        message: String,
    ) -> Result<(), KernelError> {
        self.transact(&crate::ids::uuid(), async |unit| {
            let update = StageUpdate {
                status: Some(Status::Failed),
                completed_at: Some(Some(unit.now)),
                next_poll_at: Some(None),
                error_message: Some(Some(message.clone())),
                ..Default::default()
            };
            unit.tx
                .update_stage(&stage.id, update, None, unit.now)
                .await?;
            unit.tx
                .settle_suspended_job(
                    &stage.workflow_run_id,
                    &stage.stage_id,
                    SuspendedJobEnd::Failed(message.clone()),
                    unit.now,
                )
                .await?;
            let event = unit.event(
                &stage.workflow_run_id,
                EventKind::StageFailed {
                    stage_id: stage.stage_id.clone(),
                    stage_name: stage.stage_name.clone(),
                    error: message,
                },
            );
            unit.emit(event);
            Ok(())
        })
        .await
    }

    /// Asks the stage's `check_completion`, outside any transaction. `None` when the stage was failed
    /// without polling (its workflow or definition is gone).
    async fn check_stage(
        &self,
        run: &RunRecord,
        stage: &StageRecord,
    ) -> Result<Option<Resolution>, KernelError> {
        let ports = self.ports();
        let definition = ports.registry.workflow(&run.workflow_id);
        let node = definition.as_ref().and_then(|d| d.stage(&stage.stage_id));
        let refusal = match (&definition, node) {
            (None, _) => Some(format!(
                "Workflow {} not found in registry",
                run.workflow_id
            )),
            (Some(_), None) => Some(format!(
                "Stage {} not found in workflow {}",
                stage.stage_id, run.workflow_id
            )),
            (Some(_), Some(node)) if node.stage.mode() != StageMode::AsyncBatch => Some(format!(
                "Stage {} does not support checkCompletion",
                stage.stage_id
            )),
            _ => None,
        };
        if let Some(message) = refusal {
            self.fail_stage_only(stage, message).await?;
            return Ok(None);
        }
        let node = node.expect("checked above");
        let logs = LogWriter::start(
            ports.store.clone(),
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
            Ok(CheckOutcome::Ready(output)) => match validate::nul_path("output", &output) {
                Some(path) => Resolution::Failed {
                    message: format!(
                        "Stage {} returned an output that cannot be stored: {}",
                        stage.stage_id,
                        validate::nul_message(&path)
                    ),
                    recorded,
                },
                None => Resolution::Completed { output, recorded },
            },
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

    /// Writes the resolution in one transaction, with the run's transition when the stage completed.
    /// Nothing is written when the run stopped running or the stage changed meanwhile (the stage is then
    /// cancelled if its run is no longer running).
    async fn resolve(
        &self,
        run: &RunRecord,
        stage: &StageRecord,
        resolution: Resolution,
    ) -> Result<PollResult, KernelError> {
        let ports = self.ports();
        let output_key = output_key(ports.blobs_in_store, run, &stage.stage_id, None);
        if let Resolution::Completed { output, .. } = &resolution
            && !ports.blobs_in_store
        {
            ports.blobs.put(&output_key, output).await?;
        }
        self.transact(&crate::ids::uuid(), async |unit| {
            let current = unit.tx.lock_run(&run.id).await?;
            if current.as_ref().map(|r| r.status) != Some(Status::Running) {
                unit.cancel_stage(stage).await?;
                return Ok(PollResult::Other);
            }
            let still = unit.tx.get_stage(&run.id, &stage.stage_id).await?;
            if still.as_ref().map(|s| (s.status, s.version)) != Some((Status::Suspended, stage.version)) {
                // Another worker resolved it meanwhile.
                unit.abandon();
                return Ok(PollResult::Other);
            }
            let run = current.expect("checked above");
            let now = unit.now;
            let scope = AnnotationScope::stage(stage);
            let (result, recorded) = match resolution {
                Resolution::Completed { output, recorded } => {
                    if ports.blobs_in_store {
                        unit.tx.put_blobs(vec![(output_key.clone(), output.clone())], now).await?;
                    }
                    let duration = stage.started_at.map_or(0, |start| millis_between(start, now));
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
                    unit.tx.update_stage(&stage.id, update, None, now).await?;
                    unit.tx
                        .settle_suspended_job(&run.id, &stage.stage_id, SuspendedJobEnd::Completed, now)
                        .await?;
                    let completed = unit.event(
                        &run.id,
                        EventKind::StageCompleted {
                            stage_id: stage.stage_id.clone(),
                            stage_name: stage.stage_name.clone(),
                            duration,
                        },
                    );
                    unit.emit(completed);
                    let mut known = StageOutputs::new();
                    known.insert(stage.stage_id.clone(), output);
                    let run = unit.tx.update_run(&run.id, RunUpdate::default(), None, now).await?;
                    let stages = unit.tx.stages_by_run(&run.id).await?;
                    // Annotation events come before the run's own.
                    let (rows, events) = scope.rows_for_recorded(&recorded.annotations, now);
                    if !rows.is_empty() {
                        unit.tx.append_annotations(rows, now).await?;
                    }
                    unit.emit_all(events);
                    unit.transition(&run, &stages, &known).await?;
                    return Ok(PollResult::Resumed(run.id));
                }
                Resolution::Failed { message, recorded } => {
                    let message = validate::scrub_text(message);
                    let update = StageUpdate {
                        status: Some(Status::Failed),
                        completed_at: Some(Some(now)),
                        next_poll_at: Some(None),
                        error_message: Some(Some(message.clone())),
                        ..Default::default()
                    };
                    unit.tx.update_stage(&stage.id, update, None, now).await?;
                    // The suspended job fails with its stage, and no other job of the failed run stays
                    // claimable.
                    unit.tx
                        .settle_suspended_job(
                            &run.id,
                            &stage.stage_id,
                            SuspendedJobEnd::Failed(message.clone()),
                            now,
                        )
                        .await?;
                    tracing::warn!(run_id = %run.id, stage_id = %stage.stage_id, error = %message, "suspended stage failed");
                    let failed = unit.event(
                        &run.id,
                        EventKind::StageFailed {
                            stage_id: stage.stage_id.clone(),
                            stage_name: stage.stage_name.clone(),
                            error: message.clone(),
                        },
                    );
                    unit.emit(failed);
                    unit.fail_run(&run, message, None).await?;
                    (PollResult::Failed, recorded)
                }
                Resolution::Reschedule {
                    next_poll_at,
                    recorded,
                } => {
                    let update = StageUpdate {
                        next_poll_at: Some(Some(next_poll_at)),
                        ..Default::default()
                    };
                    unit.tx.update_stage(&stage.id, update, None, now).await?;
                    unit.signal(Signal::Suspended);
                    (PollResult::Other, recorded)
                }
            };
            let (rows, events) = scope.rows_for_recorded(&recorded.annotations, now);
            if !rows.is_empty() {
                unit.tx.append_annotations(rows, now).await?;
            }
            unit.emit_all(events);
            Ok(result)
        })
        .await
    }

    async fn poll_one(&self, stage: &StageRecord) -> Result<PollResult, KernelError> {
        let ports = self.ports();
        let run = ports
            .store
            .executor()
            .await?
            .get_run(&stage.workflow_run_id)
            .await?;
        let Some(run) = run else {
            return Ok(PollResult::Other);
        };
        if run.status != Status::Running {
            self.transact(&crate::ids::uuid(), async |unit| {
                unit.cancel_stage(stage).await
            })
            .await?;
            return Ok(PollResult::Other);
        }
        let Some(resolution) = self.check_stage(&run, stage).await? else {
            return Ok(PollResult::Failed);
        };
        self.resolve(&run, stage, resolution).await
    }
}

impl Command for StagePollSuspended {
    type Output = SuspendedPolled;
    const TYPE: &'static str = "stage.pollSuspended";

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<SuspendedPolled, KernelError> {
        let ports = kernel.ports();
        let now = ports.clock.now();
        let due = ports
            .store
            .executor()
            .await?
            .suspended_stages_due(now, self.max_checks.unwrap_or(50))
            .await?;
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
