//! The [`ActivityExecutor`] port: where a stage body runs. [`LocalExecutor`] runs it in this process; a
//! remote executor could ship it elsewhere.

use crate::definition::context::StageEnv;
use crate::definition::dyn_stage::{StageHandle, StepOutcome};
use crate::definition::error::StageError;
use crate::definition::record::Recorded;
use async_trait::async_trait;
use futures::FutureExt;
use serde_json::Value;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// One stage execution to perform.
pub struct Activity {
    /// The stage to execute, behind a type-erased handle.
    pub stage: StageHandle,
    /// Its environment (ids, earlier outputs, raw config, resume state, storage, recorder).
    pub env: StageEnv,
    /// The raw input.
    pub input: Value,
}

/// What an execution produced and recorded.
pub struct ActivityResult {
    /// The body's outcome.
    pub outcome: Result<StepOutcome, StageError>,
    /// Progress, annotations, metrics and artifacts (and logs when no log writer was attached).
    pub recorded: Recorded,
}

/// Runs stage bodies.
#[async_trait]
pub trait ActivityExecutor: Send + Sync {
    /// Runs one stage body to its outcome. A panic in stage code is an outcome (a failed stage), not a
    /// crash of the worker.
    async fn execute(&self, activity: Activity) -> ActivityResult;
}

/// Runs stage bodies in the current process and task.
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalExecutor;

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}

#[async_trait]
impl ActivityExecutor for LocalExecutor {
    async fn execute(&self, activity: Activity) -> ActivityResult {
        let env = Arc::new(activity.env);
        let stage_id = activity.stage.id();
        let run =
            AssertUnwindSafe(activity.stage.execute(env.clone(), activity.input)).catch_unwind();
        let outcome = match run.await {
            Ok(outcome) => outcome,
            Err(payload) => Err(StageError::fatal(format!(
                "stage {stage_id} panicked: {}",
                panic_message(&*payload)
            ))
            .with_name("Panic")),
        };
        ActivityResult {
            outcome,
            recorded: env.recorder().take(),
        }
    }
}
