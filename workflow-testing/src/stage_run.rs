//! [`StageRun`]: runs one stage's body (or its `check_completion`) in a unit test, with chosen outputs of
//! earlier stages, and reports what it returned and recorded.

use super::blob::InMemoryBlobStore;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use workflow_core::StageError;
use workflow_core::StageOutputs;
use workflow_core::StageStorage;
use workflow_core::ai::{AiCallLogger, AiHelper, AiSetup};
use workflow_core::ids::RunId;
use workflow_core::ports::BlobStore;
use workflow_core::{BatchStep, Completion, Stage};
use workflow_core::{CheckContext, StageContext, StageEnv, StageRunInfo};
use workflow_core::{Recorded, Recorder};

/// A single stage execution outside any workflow.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_testing::StageRun;
///
/// #[stage]
/// async fn count(input: String) -> Result<usize, StageError> { Ok(input.split_whitespace().count()) }
///
/// #[stage]
/// async fn report(ctx: &StageContext) -> Result<String, StageError> {
///     ctx.info("reporting");
///     Ok(format!("{} words", ctx.require::<count>()?))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let report = StageRun::new().with_output::<count>(&3).execute::<report>((), Default::default()).await;
/// assert_eq!(report.output().unwrap(), "3 words");
/// assert_eq!(report.recorded.logs[0].message, "reporting");
/// # });
/// ```
pub struct StageRun {
    info: StageRunInfo,
    outputs: StageOutputs,
    store: Arc<dyn BlobStore>,
    resume_state: Option<Value>,
    ai: Option<AiHelper>,
}

impl Default for StageRun {
    fn default() -> Self {
        Self::new()
    }
}

impl StageRun {
    /// A run `test-run` of workflow `test-workflow`, with an in-memory blob store and no earlier outputs.
    pub fn new() -> Self {
        StageRun {
            info: StageRunInfo {
                workflow_run_id: "test-run".into(),
                workflow_id: "test-workflow".into(),
                workflow_type: "test-workflow".into(),
                stage_record_id: "test-stage-record".into(),
                stage_number: 1,
                execution_group: 1,
                ..StageRunInfo::default()
            },
            outputs: StageOutputs::new(),
            store: Arc::new(InMemoryBlobStore::new()),
            resume_state: None,
            ai: None,
        }
    }

    /// Lets `ctx.ai()` call `setup`'s models (for example [`ScriptedModel::setup`](crate::ScriptedModel::setup)),
    /// logging to a fresh in-memory `ai_calls` table; the calls' cost and tokens land in the report's
    /// metrics (`totalCost`, `totalTokens`). Without it, AI calls fail with a message saying so.
    #[must_use]
    pub fn ai(mut self, setup: AiSetup) -> Self {
        let log = Arc::new(crate::InMemoryStore::new());
        let logger = AiCallLogger::new(log, Arc::new(workflow_core::ports::SystemClock));
        self.ai = Some(AiHelper::new("", logger).with_setup(setup));
        self
    }

    /// Sets the run id.
    #[must_use]
    pub fn run_id(mut self, run_id: impl Into<RunId>) -> Self {
        self.info.workflow_run_id = run_id.into();
        self
    }

    /// Sets the attempt number.
    #[must_use]
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.info.attempt = attempt;
        self
    }

    /// Provides the output of an earlier stage `S`.
    ///
    /// # Panics
    /// If the output cannot be serialized.
    #[must_use]
    pub fn with_output<S: Stage>(mut self, output: &S::Output) -> Self {
        self.outputs = self.outputs.with::<S>(output);
        self
    }

    /// Provides a raw JSON output for an earlier stage (to test decoding failures).
    #[must_use]
    pub fn with_raw_output(mut self, stage_id: &str, output: Value) -> Self {
        self.outputs.insert(stage_id, output);
        self
    }

    /// Uses this blob store instead of a fresh in-memory one.
    #[must_use]
    pub fn blob_store(mut self, store: Arc<dyn BlobStore>) -> Self {
        self.store = store;
        self
    }

    /// Runs the body as a re-execution after a suspension with `state`.
    ///
    /// # Panics
    /// If the state cannot be serialized.
    #[must_use]
    pub fn resume_state(mut self, state: impl Serialize) -> Self {
        self.resume_state =
            Some(serde_json::to_value(state).expect("the resume state must serialize to JSON"));
        self
    }

    fn env<S: Stage>(mut self, config: Value) -> StageEnv {
        self.info.stage_id = S::ID.into();
        self.info.stage_name = S::NAME.to_owned();
        let storage = StageStorage::new(
            self.store,
            self.info.workflow_type.clone(),
            self.info.workflow_run_id.clone(),
        );
        let env = StageEnv::new(self.info, storage, Recorder::new())
            .with_outputs(self.outputs)
            .with_raw_config(config)
            .with_resume_state(self.resume_state);
        match &self.ai {
            Some(ai) => env.with_ai(ai),
            None => env,
        }
    }

    /// Runs stage `S`'s body with a typed input and config.
    pub async fn execute<S: Stage>(self, input: S::Input, config: S::Config) -> StageRunReport<S> {
        let raw_config = serde_json::to_value(&config).unwrap_or(Value::Null);
        let env = Arc::new(self.env::<S>(raw_config));
        if let Err(detail) = env.prepare_resume_state::<S::State>() {
            let error = StageError::fatal(format!(
                "the resume state does not match the stage's state type: {detail}"
            ));
            return StageRunReport {
                result: Err(error),
                recorded: env.recorder().take(),
            };
        }
        let ctx = StageContext::<S>::new(env.clone());
        let result = S::execute(&ctx, input, config).await;
        StageRunReport {
            result,
            recorded: env.recorder().take(),
        }
    }

    /// Runs stage `S`'s `check_completion` with a typed state; `config` is the stage's raw config.
    pub async fn check<S: Stage>(self, state: S::State, config: Value) -> StageCheckReport<S> {
        let env = Arc::new(self.env::<S>(config));
        let ctx = CheckContext::new(env.clone());
        let result = S::check_completion(&ctx, state).await;
        StageCheckReport {
            result,
            recorded: env.recorder().take(),
        }
    }
}

/// What one [`StageRun::execute`] returned and recorded.
pub struct StageRunReport<S: Stage> {
    /// The body's result.
    pub result: Result<BatchStep<S::Output, S::State>, StageError>,
    /// Logs, progress, annotations, metrics and artifacts.
    pub recorded: Recorded,
}

impl<S: Stage> StageRunReport<S> {
    /// The output of a body that completed; an error if it failed or suspended.
    pub fn output(&self) -> Result<&S::Output, StageError> {
        match &self.result {
            Ok(BatchStep::Done(output)) => Ok(output),
            Ok(BatchStep::Suspend(_)) => {
                Err(StageError::fatal(format!("stage {} suspended", S::ID)))
            }
            Err(error) => Err(error.clone()),
        }
    }
}

/// What one [`StageRun::check`] returned and recorded.
pub struct StageCheckReport<S: Stage> {
    /// The check's result.
    pub result: Result<Completion<S::Output>, StageError>,
    /// Logs, annotations and metrics.
    pub recorded: Recorded,
}
