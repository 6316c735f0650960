//! `stage.pollSuspended` (reference §5.7): asks due suspended stages whether their work is done. Each
//! `check_completion` runs outside any transaction; each outcome is written in its own short transaction,
//! guarded by the run being `RUNNING` (its lock held) and the stage unchanged since it was read; a stage
//! that completes transitions its run in the same transaction. Hosts run it when the earliest `nextPollAt`
//! comes (and on their maintenance tick).

use super::poll_resolve::{PollResult, Resolution};
use crate::definition::dyn_stage::CheckOutcome;
use crate::definition::stage::StageMode;
use crate::ids::RunId;
use crate::kernel::context::stage_env;
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::logs::LogWriter;
use crate::kernel::{Kernel, KernelError, validate};
use crate::ports::executor::panic_message;
use crate::ports::{EventKind, RunRecord, StageRecord, StageUpdate, Status, SuspendedJobEnd};
use crate::time::{add, to_js_iso};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
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
        let env = std::sync::Arc::new(stage_env(ports, run, stage, logs.recorder(), raw_config));
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
