//! How a polled suspended stage's outcome is written (`stage.pollSuspended`): the [`Resolution`] of one
//! check, written in one transaction guarded by the run being `RUNNING` and the stage unchanged since it
//! was read, with the run's transition when the stage completed.

use crate::definition::outputs::StageOutputs;
use crate::definition::record::Recorded;
use crate::ids::RunId;
use crate::kernel::annotations::AnnotationScope;
use crate::kernel::context::output_key;
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError, validate};
use crate::ports::{
    EventKind, RunRecord, RunUpdate, Signal, StageRecord, StageUpdate, Status, SuspendedJobEnd,
};
use crate::time::millis_between;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// What polling one stage did.
pub(super) enum PollResult {
    /// The stage completed and its run went on (or finished).
    Resumed(RunId),
    /// The stage (and its run) failed.
    Failed,
    /// Not ready yet, or nothing was written (the run stopped or the stage changed meanwhile).
    Other,
}

/// What one `check_completion` decided for its stage.
pub(super) enum Resolution {
    /// The work is done: store the output and transition the run.
    Completed { output: Value, recorded: Recorded },
    /// Fail the stage and its run.
    Failed { message: String, recorded: Recorded },
    /// Not ready: check again at `next_poll_at`.
    Reschedule {
        next_poll_at: DateTime<Utc>,
        recorded: Recorded,
    },
}

impl UnitOfWork<'_> {
    /// Cancels a suspended stage whose run is no longer running, and its job.
    pub(super) async fn cancel_stage(&mut self, stage: &StageRecord) -> Result<(), KernelError> {
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
    /// Writes the resolution in one transaction, with the run's transition when the stage completed.
    /// Nothing is written when the run stopped running or the stage changed meanwhile (the stage is then
    /// cancelled if its run is no longer running).
    pub(super) async fn resolve(
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
}
