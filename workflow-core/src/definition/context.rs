//! The contexts stage code runs with: [`StageContext`] for the stage body and [`CheckContext`] for
//! `check_completion`. Both dereference to [`StageEnv`], which holds what they share (ids, logs,
//! annotations, metrics, storage).

use super::checks::Requires;
use super::error::StageError;
use super::outputs::{StageOutputs, decode_json};
use super::record::{Annotation, LogEntry, LogLevel, ProgressUpdate, Recorder};
use super::stage::Stage;
use super::storage::StageStorage;
use crate::ai::AiHelper;
use crate::ids::{RunId, StageId, StageRecordId, WorkflowId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::Any;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

/// Where a stage execution belongs: run, workflow and stage identifiers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageRunInfo {
    /// The run being executed (`workflow_runs.id`).
    pub workflow_run_id: RunId,
    /// The id of the run's workflow.
    pub workflow_id: WorkflowId,
    /// `WorkflowRun.workflowType` (equal to the workflow id for runs this engine creates).
    pub workflow_type: String,
    /// The id the workflow gives this stage (`workflow_stages.stageId`).
    pub stage_id: StageId,
    /// The stage's display name.
    pub stage_name: String,
    /// 1-based position of the stage in the workflow definition.
    pub stage_number: u32,
    /// The stage's execution group, counted from 1 (`executionGroup`).
    pub execution_group: u32,
    /// The stage's row (`workflow_stages.id`): what logs and annotations point at.
    pub stage_record_id: StageRecordId,
    /// `WorkflowStage.attempt` (0 for a first run, +1 per rerun).
    pub attempt: u32,
}

/// What stage code can reach besides its typed input: identifiers, logging, annotations, metrics and
/// storage. [`StageContext`] and [`CheckContext`] dereference to it.
pub struct StageEnv {
    info: StageRunInfo,
    outputs: StageOutputs,
    raw_config: Value,
    resume_state: Option<Value>,
    typed_resume_state: OnceLock<Box<dyn Any + Send + Sync>>,
    storage: StageStorage,
    recorder: Recorder,
    /// The kernel's AI helper, bound to this stage by the first `ai()` (most stages never call it).
    ai_root: Option<AiHelper>,
    ai: OnceLock<AiHelper>,
}

impl StageEnv {
    /// An environment for one execution.
    pub fn new(info: StageRunInfo, storage: StageStorage, recorder: Recorder) -> Self {
        StageEnv {
            info,
            outputs: StageOutputs::new(),
            raw_config: Value::Object(Default::default()),
            resume_state: None,
            typed_resume_state: OnceLock::new(),
            storage,
            recorder,
            ai_root: None,
            ai: OnceLock::new(),
        }
    }

    /// Binds `ctx.ai()` to `ai`'s models, providers and call log, under this stage's topic
    /// (`workflow.<runId>.stage.<stageId>`) and adding its calls' usage to this stage's metrics. The
    /// kernel does this for every execution; tests of a single stage call it themselves.
    #[must_use]
    pub fn with_ai(mut self, ai: &AiHelper) -> Self {
        self.ai_root = Some(ai.clone());
        self.ai = OnceLock::new();
        self
    }

    /// Sets the outputs of earlier stages.
    #[must_use]
    pub fn with_outputs(mut self, outputs: StageOutputs) -> Self {
        self.outputs = outputs;
        self
    }

    /// Sets the stage's raw config (its entry of the run config).
    #[must_use]
    pub fn with_raw_config(mut self, config: Value) -> Self {
        self.raw_config = config;
        self
    }

    /// Sets the suspended state the stage is resumed with.
    #[must_use]
    pub fn with_resume_state(mut self, state: Option<Value>) -> Self {
        self.resume_state = state;
        self
    }

    /// Run, workflow and stage identifiers.
    pub fn run_info(&self) -> &StageRunInfo {
        &self.info
    }

    /// The run being executed (`workflow_runs.id`).
    pub fn workflow_run_id(&self) -> &str {
        &self.info.workflow_run_id
    }

    /// The id of the workflow this run belongs to (`workflow_runs.workflowId`).
    pub fn workflow_id(&self) -> &str {
        &self.info.workflow_id
    }

    /// The id the workflow gives this stage, e.g. `extract-text`.
    pub fn stage_id(&self) -> &str {
        &self.info.stage_id
    }

    /// The stage's display name.
    pub fn stage_name(&self) -> &str {
        &self.info.stage_name
    }

    /// 1-based position of the stage in its workflow.
    pub fn stage_number(&self) -> u32 {
        self.info.stage_number
    }

    /// `WorkflowStage.id` of this execution.
    pub fn stage_record_id(&self) -> &str {
        &self.info.stage_record_id
    }

    /// The stage row's attempt (incremented by reruns).
    pub fn attempt(&self) -> u32 {
        self.info.attempt
    }

    /// The stage's raw config, as stored in the run.
    pub fn raw_config(&self) -> &Value {
        &self.raw_config
    }

    /// Writes a log line (`workflow_logs`), also emitted as a `tracing` event. `fields` become the log's
    /// metadata; pass `()` for none.
    pub fn log(&self, level: LogLevel, message: impl Into<String>, fields: impl Serialize) {
        let message = message.into();
        let fields = serde_json::to_value(fields).ok().filter(|v| !v.is_null());
        let (run, stage) = (self.workflow_run_id(), self.stage_id());
        match level {
            LogLevel::Debug => tracing::debug!(run_id = run, stage_id = stage, "{message}"),
            LogLevel::Info => tracing::info!(run_id = run, stage_id = stage, "{message}"),
            LogLevel::Warn => tracing::warn!(run_id = run, stage_id = stage, "{message}"),
            LogLevel::Error => tracing::error!(run_id = run, stage_id = stage, "{message}"),
        }
        self.recorder.log(LogEntry {
            level,
            message,
            fields,
        });
    }

    /// Logs at `DEBUG`.
    pub fn debug(&self, message: impl Into<String>) {
        self.log(LogLevel::Debug, message, ());
    }

    /// Logs at `INFO`.
    pub fn info(&self, message: impl Into<String>) {
        self.log(LogLevel::Info, message, ());
    }

    /// Logs at `WARN`.
    pub fn warn(&self, message: impl Into<String>) {
        self.log(LogLevel::Warn, message, ());
    }

    /// Logs at `ERROR`.
    pub fn error(&self, message: impl Into<String>) {
        self.log(LogLevel::Error, message, ());
    }

    /// Records an annotation scoped to this stage (`key = value`). `null` values are skipped.
    pub fn annotate(&self, key: impl Into<String>, value: impl Serialize) {
        self.recorder.annotate(Annotation::new(key, value));
    }

    /// Records an annotation with actor, payload, idempotency key or event.
    pub fn annotate_with(&self, annotation: Annotation) {
        self.recorder.annotate(annotation);
    }

    /// Adds the cost (USD) and tokens of an AI call to this stage's metrics; the run's `totalCost` and
    /// `totalTokens` are the sums over its stages. Calls made through [`ai`](Self::ai) are added
    /// already; this is for usage the engine did not see (a model called some other way).
    pub fn record_usage(&self, cost: f64, tokens: u64) {
        self.recorder.usage_meter().add(cost, tokens);
    }

    /// The AI helper of this stage: model calls logged to `ai_calls` under the topic
    /// `workflow.<runId>.stage.<stageId>`, their cost and tokens added to this stage's metrics (and so
    /// to the run's totals). See [`AiHelper`] for the calls and [`crate::ai`] for configuring models.
    ///
    /// ```no_run
    /// use workflow_core::prelude::*;
    ///
    /// #[stage]
    /// async fn summarize(ctx: &StageContext, text: String) -> Result<String, StageError> {
    ///     let reply = ctx.ai().generate_text("gpt-4o-mini", format!("Summarize: {text}")).await?;
    ///     Ok(reply.value)
    /// }
    /// # fn main() {}
    /// ```
    pub fn ai(&self) -> &AiHelper {
        match &self.ai_root {
            Some(root) => self.ai.get_or_init(|| {
                root.for_stage(
                    &self.info.workflow_run_id,
                    &self.info.stage_id,
                    self.recorder.usage_meter(),
                )
            }),
            None => AiHelper::unconfigured(),
        }
    }

    /// Sets a custom metric (stored in the stage's `metrics`).
    pub fn set_metric(&self, key: impl Into<String>, value: impl Serialize) {
        self.recorder.set_metric(
            key.into(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
    }

    /// Stores a named artifact next to the stage output (`…/<stageId>/artifacts/<name>.json`).
    pub fn save_artifact(&self, name: impl Into<String>, value: impl Serialize) {
        self.recorder.artifact(
            name.into(),
            serde_json::to_value(value).unwrap_or(Value::Null),
        );
    }

    /// Blob storage scoped to this run (keys under `workflow-v2/<workflowType>/<runId>/`).
    pub fn storage(&self) -> &StageStorage {
        &self.storage
    }

    /// What the stage recorded (the engine takes it after the stage returns).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    pub(crate) fn outputs(&self) -> &StageOutputs {
        &self.outputs
    }

    pub(crate) fn progress(&self, update: ProgressUpdate) {
        self.recorder.progress(update);
    }

    /// Decodes the resume state as `T` once, before the stage body runs (the kernel and `StageRun` call
    /// it; stage code never needs to).
    #[doc(hidden)]
    pub fn prepare_resume_state<T: DeserializeOwned + Send + Sync + 'static>(
        &self,
    ) -> Result<(), String> {
        if let Some(raw) = &self.resume_state {
            let typed: T = decode_json(raw)?;
            let _ = self.typed_resume_state.set(Box::new(typed));
        }
        Ok(())
    }

    pub(crate) fn typed_resume_state<T: 'static>(&self) -> Option<&T> {
        self.typed_resume_state
            .get()
            .and_then(|state| state.downcast_ref::<T>())
    }
}

impl std::fmt::Debug for StageEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageEnv")
            .field("info", &self.info)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

/// The context of a stage body: `ctx.require::<other_stage>()`, progress, the resume state, and everything
/// of [`StageEnv`] (logs, annotations, metrics, storage) through `Deref`.
///
/// The type parameter is the stage itself (`#[stage]` fills it in for `ctx: &StageContext`); it lets
/// [`require`](StageContext::require) check at compile time that the stage declared what it reads.
pub struct StageContext<S: ?Sized> {
    env: Arc<StageEnv>,
    _stage: PhantomData<fn() -> S>,
}

impl<S: Stage> StageContext<S> {
    /// A context over `env` for stage `S`.
    pub fn new(env: Arc<StageEnv>) -> Self {
        StageContext {
            env,
            _stage: PhantomData,
        }
    }

    /// The output of stage `D`, which must run in an earlier group of the workflow (checked by
    /// `workflow!`). Fails if `D` has no output in this run (for example when `D` completed without one) or
    /// if its stored output does not match `D::Output`.
    pub fn require<D: Stage>(&self) -> Result<&D::Output, StageError>
    where
        S: Requires<D>,
    {
        self.env.outputs().require::<D>(S::ID)
    }

    /// The output of stage `D` if it completed earlier in this run. An output that exists but does not
    /// decode as `D::Output` is logged as an error and treated as absent.
    pub fn optional<D: Stage>(&self) -> Option<&D::Output> {
        match self.env.outputs().decode::<D>(S::ID) {
            Ok(output) => output,
            Err(error) => {
                self.env
                    .log(LogLevel::Error, error.message().to_owned(), ());
                None
            }
        }
    }

    /// Reports progress (`0.0..=1.0`); becomes a `stage:progress` event.
    pub fn progress(&self, fraction: f64, message: impl Into<String>) {
        self.progress_with(fraction, message, ());
    }

    /// Reports progress with details.
    pub fn progress_with(
        &self,
        fraction: f64,
        message: impl Into<String>,
        details: impl Serialize,
    ) {
        let progress = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let details = serde_json::to_value(details).ok().filter(|v| !v.is_null());
        self.env.progress(ProgressUpdate {
            progress,
            message: message.into(),
            details,
        });
    }

    /// The state the stage suspended with, when its body runs again after a suspension (for example on a
    /// retry); `None` on a first execution.
    pub fn resume_state(&self) -> Option<&S::State> {
        self.env.typed_resume_state::<S::State>()
    }

    /// The shared environment.
    pub fn env(&self) -> &Arc<StageEnv> {
        &self.env
    }
}

impl<S: ?Sized> Deref for StageContext<S> {
    type Target = StageEnv;

    fn deref(&self) -> &StageEnv {
        &self.env
    }
}

impl<S: ?Sized> std::fmt::Debug for StageContext<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StageContext").field(&self.env).finish()
    }
}

/// The context of a `check_completion` fn: the stage's config, logs, annotations, metrics and storage
/// (through `Deref` to [`StageEnv`]). It has no access to other stages' outputs.
#[derive(Debug)]
pub struct CheckContext {
    env: Arc<StageEnv>,
}

impl CheckContext {
    /// A context over `env`.
    pub fn new(env: Arc<StageEnv>) -> Self {
        CheckContext { env }
    }

    /// The stage's config decoded as `T` (missing fields take their serde defaults); the error names the
    /// field.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, StageError> {
        decode_json(self.env.raw_config()).map_err(|detail| {
            StageError::fatal(format!(
                "invalid config for stage {}: {detail}",
                self.env.stage_id()
            ))
        })
    }
}

impl Deref for CheckContext {
    type Target = StageEnv;

    fn deref(&self) -> &StageEnv {
        &self.env
    }
}
