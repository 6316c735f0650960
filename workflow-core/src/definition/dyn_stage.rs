//! The type-erased view of a stage that the engine runs: JSON in, JSON out. [`StageHandle::of`] wraps any
//! [`Stage`]; the wrapper decodes input, config and resume state into the stage's types (errors name the
//! field), runs the typed body, and checks that the output reads back as the output type.

use super::context::{CheckContext, StageContext, StageEnv};
use super::error::StageError;
use super::outputs::decode_json;
use super::stage::{BatchStep, Completion, PollSettings, Stage, StageMode};
use crate::__private::InputKind;
use futures::future::BoxFuture;
use schemars::Schema;
use serde::Serialize;
use serde_json::Value;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// What a stage body produced, as JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum StepOutcome {
    /// Completed with this output.
    Done(Value),
    /// Suspended with this state.
    Suspend {
        /// The serialized state (`suspendedState`).
        state: Value,
        /// When to poll.
        poll: PollSettings,
    },
}

/// What `check_completion` reported, as JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckOutcome {
    /// Done, with this output.
    Ready(Value),
    /// Poll again.
    NotReady {
        /// Delay before the next poll; `None` = the stage's poll interval.
        next_check_in: Option<Duration>,
    },
    /// The work failed.
    Failed(String),
}

/// JSON Schemas of a stage's types.
#[derive(Clone, Debug)]
pub struct StageSchemas {
    /// JSON Schema (draft 2020-12) of the stage's input type.
    pub input: Schema,
    /// JSON Schema of the stage's output type.
    pub output: Schema,
    /// Config schema (with defaults).
    pub config: Schema,
    /// Suspended-state schema (async-batch stages only).
    pub state: Option<Schema>,
}

/// A stage the engine can run without knowing its types.
pub trait DynStage: Send + Sync {
    /// The stage id.
    fn id(&self) -> &'static str;
    /// The display name.
    fn name(&self) -> &'static str;
    /// The description (doc comment).
    fn description(&self) -> Option<&'static str>;
    /// Ids of the stages it requires.
    fn dependencies(&self) -> &'static [&'static str];
    /// Ids of the stages it reads with `ctx.optional::<X>()` (see [`Stage::OPTIONAL_READS`]).
    fn optional_reads(&self) -> &'static [&'static str];
    /// Sync or async-batch.
    fn mode(&self) -> StageMode;
    /// Whether it ignores its input and reads only from the context.
    fn reads_context_only(&self) -> bool;
    /// JSON Schemas of its types.
    fn schemas(&self) -> StageSchemas;
    /// The config with every default filled in, as JSON; `None` if the config has required fields.
    fn default_config(&self) -> Option<Value>;
    /// Decodes `raw` as the config type and re-encodes it with defaults filled in; the error names the field.
    fn parse_config(&self, raw: &Value) -> Result<Value, String>;
    /// Checks that `output` decodes as the output type.
    fn validate_output(&self, output: &Value) -> Result<(), String>;
    /// Runs the body with `env` (whose raw config and resume state are set) and the raw input.
    fn execute(
        &self,
        env: Arc<StageEnv>,
        input: Value,
    ) -> BoxFuture<'static, Result<StepOutcome, StageError>>;
    /// Polls a suspended stage with its raw state.
    fn check_completion(
        &self,
        env: Arc<StageEnv>,
        state: Value,
    ) -> BoxFuture<'static, Result<CheckOutcome, StageError>>;
}

/// A shared, type-erased stage.
#[derive(Clone)]
pub struct StageHandle(Arc<dyn DynStage>);

impl StageHandle {
    /// Wraps stage `S`.
    pub fn of<S: Stage>() -> Self {
        StageHandle(Arc::new(Adapter::<S>(PhantomData)))
    }

    /// Wraps a hand-written [`DynStage`].
    pub fn from_dyn(stage: Arc<dyn DynStage>) -> Self {
        StageHandle(stage)
    }
}

impl std::ops::Deref for StageHandle {
    type Target = dyn DynStage;

    fn deref(&self) -> &(dyn DynStage + 'static) {
        &*self.0
    }
}

impl std::fmt::Debug for StageHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StageHandle").field(&self.0.id()).finish()
    }
}

struct Adapter<S>(PhantomData<fn() -> S>);

fn schema_of<T: schemars::JsonSchema>() -> Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<T>()
}

/// Serializes a typed value and checks that it decodes back as `T` (catches NaN floats, lossy custom
/// serializers, ...).
fn encode_checked<T: Serialize + serde::de::DeserializeOwned>(
    value: &T,
    what: &str,
) -> Result<Value, StageError> {
    let json = serde_json::to_value(value)
        .map_err(|e| StageError::fatal(format!("{what} cannot be serialized to JSON: {e}")))?;
    decode_json::<T>(&json).map_err(|detail| {
        StageError::fatal(format!(
            "{what} does not read back as its own type: {detail}"
        ))
    })?;
    Ok(json)
}

impl<S: Stage> DynStage for Adapter<S> {
    fn id(&self) -> &'static str {
        S::ID
    }

    fn name(&self) -> &'static str {
        S::NAME
    }

    fn description(&self) -> Option<&'static str> {
        S::DESCRIPTION
    }

    fn dependencies(&self) -> &'static [&'static str] {
        S::DEPENDENCIES
    }

    fn optional_reads(&self) -> &'static [&'static str] {
        S::OPTIONAL_READS
    }

    fn mode(&self) -> StageMode {
        S::MODE
    }

    fn reads_context_only(&self) -> bool {
        <S::InputKind as InputKind>::CONTEXT_ONLY
    }

    fn schemas(&self) -> StageSchemas {
        StageSchemas {
            input: schema_of::<S::Input>(),
            output: schema_of::<S::Output>(),
            config: schema_of::<S::Config>(),
            state: (S::MODE == StageMode::AsyncBatch).then(schema_of::<S::State>),
        }
    }

    fn default_config(&self) -> Option<Value> {
        self.parse_config(&Value::Object(Default::default())).ok()
    }

    fn parse_config(&self, raw: &Value) -> Result<Value, String> {
        let config: S::Config = decode_json(raw)?;
        serde_json::to_value(&config)
            .map_err(|e| format!("the config cannot be serialized back to JSON: {e}"))
    }

    fn validate_output(&self, output: &Value) -> Result<(), String> {
        decode_json::<S::Output>(output).map(drop)
    }

    fn execute(
        &self,
        env: Arc<StageEnv>,
        input: Value,
    ) -> BoxFuture<'static, Result<StepOutcome, StageError>> {
        Box::pin(async move {
            let id = S::ID;
            let input: S::Input = if <S::InputKind as InputKind>::CONTEXT_ONLY {
                decode_json(&Value::Null)
            } else {
                decode_json(&input)
            }
            .map_err(|detail| {
                StageError::fatal(format!("invalid input for stage {id}: {detail}"))
                    .with_name("InvalidInput")
            })?;
            let config: S::Config = decode_json(env.raw_config()).map_err(|detail| {
                StageError::fatal(format!("invalid config for stage {id}: {detail}"))
                    .with_name("InvalidConfig")
            })?;
            env.prepare_resume_state::<S::State>().map_err(|detail| {
                StageError::fatal(format!(
                    "the suspended state of stage {id} does not match its state type: {detail}"
                ))
                .with_name("InvalidState")
            })?;
            let ctx = StageContext::<S>::new(env);
            match S::execute(&ctx, input, config).await? {
                BatchStep::Done(output) => Ok(StepOutcome::Done(encode_checked(
                    &output,
                    &format!("the output of stage {id}"),
                )?)),
                BatchStep::Suspend(suspend) => {
                    let (state, poll) = suspend.into_parts();
                    let state =
                        encode_checked(&state, &format!("the suspended state of stage {id}"))?;
                    Ok(StepOutcome::Suspend { state, poll })
                }
            }
        })
    }

    fn check_completion(
        &self,
        env: Arc<StageEnv>,
        state: Value,
    ) -> BoxFuture<'static, Result<CheckOutcome, StageError>> {
        Box::pin(async move {
            let id = S::ID;
            let state: S::State = decode_json(&state).map_err(|detail| {
                StageError::fatal(format!(
                    "the suspended state of stage {id} does not match its state type: {detail}"
                ))
                .with_name("InvalidState")
            })?;
            let ctx = CheckContext::new(env);
            Ok(match S::check_completion(&ctx, state).await? {
                Completion::Ready(output) => CheckOutcome::Ready(encode_checked(
                    &output,
                    &format!("the output of stage {id}"),
                )?),
                Completion::NotReady { next_check_in } => CheckOutcome::NotReady { next_check_in },
                Completion::Failed(message) => CheckOutcome::Failed(message),
            })
        })
    }
}
