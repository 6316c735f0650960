//! The [`Stage`] trait that `#[stage]` implements, and the values a stage body returns.

use super::checks::InputKind;
use super::context::{CheckContext, StageContext};
use super::error::StageError;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// What stage inputs, outputs and suspended states must be: JSON (serde) with a JSON Schema (schemars),
/// shareable across threads. Implemented for every such type.
pub trait StageData: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {}
impl<T> StageData for T where T: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {}

/// Whether a stage completes in one call or suspends and is polled (`defineAsyncBatchStage` upstream).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageMode {
    /// The body returns the output.
    Sync,
    /// The body may suspend; `check_completion` is polled until the work is done.
    AsyncBatch,
}

/// A stage of a workflow. Implemented by `#[stage]`; see the macro for how to write one.
///
/// The associated types are the stage's typed contract: the previous group's output must be
/// [`Input`](Stage::Input), [`Output`](Stage::Output) is what later stages read with `ctx.require::<Self>()`,
/// and [`Config`](Stage::Config) is this stage's part of the run config.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a stage",
    label = "not a `#[stage]`",
    note = "a stage is an `async fn` annotated with `#[stage]`; the fn's name is the stage's type"
)]
pub trait Stage: Send + Sync + 'static {
    /// The input: the previous group's output, or the workflow input for the first group; `()` for a stage
    /// that reads only from the context.
    type Input: StageData;
    /// The output, stored as the stage's result and read by later stages.
    type Output: StageData;
    /// The stage's configuration; `NoConfig` when the fn takes none.
    type Config: StageData;
    /// The state an async-batch stage suspends with; `()` for sync stages.
    type State: StageData;
    /// Whether the input must equal the previous output ([`TypedInput`](crate::__private::TypedInput)) or is
    /// ignored ([`ContextInput`](crate::__private::ContextInput)).
    #[doc(hidden)]
    type InputKind: InputKind;

    /// The stage id (unique within a workflow; the `stageId` column).
    const ID: &'static str;
    /// The display name (`stageName`).
    const NAME: &'static str;
    /// The doc comment of the stage fn.
    const DESCRIPTION: Option<&'static str>;
    /// Ids of the stages this stage requires.
    const DEPENDENCIES: &'static [&'static str];
    /// Ids of other stages it reads with `ctx.optional::<X>()` when they have an output; the engine loads
    /// exactly these, the dependencies and the previous group's outputs before the body runs.
    const OPTIONAL_READS: &'static [&'static str] = &[];
    /// Sync or async-batch.
    const MODE: StageMode;

    /// Runs the stage body.
    fn execute(
        ctx: &StageContext<Self>,
        input: Self::Input,
        config: Self::Config,
    ) -> impl Future<Output = Result<BatchStep<Self::Output, Self::State>, StageError>> + Send;

    /// Polls a suspended async-batch stage. Sync stages never suspend, so the default is never called by
    /// the engine; it fails with a clear message if it is.
    fn check_completion(
        ctx: &CheckContext,
        state: Self::State,
    ) -> impl Future<Output = Result<Completion<Self::Output>, StageError>> + Send {
        let _ = (ctx, state);
        async {
            Err(StageError::fatal(format!(
                "Stage {} does not support checkCompletion",
                Self::ID
            )))
        }
    }
}

/// The config type of a stage fn that takes no config parameter. Accepts any JSON object (extra keys are
/// ignored, as the TypeScript engine's empty config schema strips them) and serializes to `{}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoConfig {}

/// What an async-batch stage's body returns: the output right away, or a suspension to be polled.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchStep<O, S> {
    /// The work finished synchronously.
    Done(O),
    /// The work was submitted; `check_completion` is polled with the state until it is ready.
    Suspend(Suspend<S>),
}

impl<O, S> From<Suspend<S>> for BatchStep<O, S> {
    fn from(suspend: Suspend<S>) -> Self {
        BatchStep::Suspend(suspend)
    }
}

/// The default interval between `check_completion` polls (30 s, as `defineAsyncBatchStage`).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// The default time a stage may stay suspended before it fails (24 h, as `defineAsyncBatchStage`).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// A suspension: the typed state to persist (`suspendedState`) and when to poll.
///
/// ```
/// use std::time::Duration;
/// use workflow_core::Suspend;
///
/// let suspend = Suspend::new("batch-42").poll_every(Duration::from_secs(60)).max_wait(Duration::from_secs(3600));
/// assert_eq!(suspend.state(), &"batch-42");
/// assert_eq!(suspend.poll_interval(), Duration::from_secs(60));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Suspend<S> {
    state: S,
    poll_interval: Duration,
    max_wait: Duration,
    first_poll_at: Option<DateTime<Utc>>,
}

impl<S> Suspend<S> {
    /// Suspends with `state`, polling every 30 s for at most 24 h.
    pub fn new(state: S) -> Self {
        Self {
            state,
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_wait: DEFAULT_MAX_WAIT,
            first_poll_at: None,
        }
    }

    /// Sets the interval between polls.
    #[must_use]
    pub fn poll_every(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Sets how long the stage may stay suspended; after that it fails with "exceeded maxWaitUntil".
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets the time of the first poll (by default: now + the poll interval, on the engine's clock).
    #[must_use]
    pub fn first_poll_at(mut self, at: DateTime<Utc>) -> Self {
        self.first_poll_at = Some(at);
        self
    }

    /// The state to persist.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The interval between polls.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The longest time the stage may stay suspended.
    pub fn max_wait_time(&self) -> Duration {
        self.max_wait
    }

    /// The explicit time of the first poll, if set.
    pub fn first_poll(&self) -> Option<DateTime<Utc>> {
        self.first_poll_at
    }

    /// Splits the suspension into its state and its poll settings.
    pub fn into_parts(self) -> (S, PollSettings) {
        let settings = PollSettings {
            poll_interval: self.poll_interval,
            max_wait: self.max_wait,
            first_poll_at: self.first_poll_at,
        };
        (self.state, settings)
    }
}

/// When to poll a suspended stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollSettings {
    /// Interval between polls (`pollInterval`).
    pub poll_interval: Duration,
    /// Longest suspension (`maxWaitUntil = now + max_wait`).
    pub max_wait: Duration,
    /// Explicit first poll time (`nextPollAt`); default now + interval.
    pub first_poll_at: Option<DateTime<Utc>>,
}

/// What `check_completion` reports about a suspended stage.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion<O> {
    /// The work is done; the stage completes with this output.
    Ready(O),
    /// Not yet; poll again after `next_check_in` (or the stage's poll interval).
    NotReady {
        /// When to check again; `None` uses the stage's poll interval.
        next_check_in: Option<Duration>,
    },
    /// The work failed; the stage and its run fail with this message.
    Failed(String),
}

impl<O> Completion<O> {
    /// Not ready; poll again at the stage's interval.
    pub fn not_ready() -> Self {
        Completion::NotReady {
            next_check_in: None,
        }
    }

    /// Not ready; poll again after `delay`.
    pub fn check_again_in(delay: Duration) -> Self {
        Completion::NotReady {
            next_check_in: Some(delay),
        }
    }
}

/// What a `#[stage]` fn may return: `Result<T, E>` with `E: Into<StageError>`. Used by the expansion of
/// `#[stage]` to name the output type and convert the result.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid return type for a `#[stage]` fn",
    label = "expected `Result<Output, StageError>`",
    note = "a stage returns `Result<Output, E>` where `E: Into<StageError>`; an async-batch stage (one with `check_completion`) returns `Result<BatchStep<Output, State>, E>`"
)]
pub trait StageFnReturn {
    /// The success type.
    type Ok;
    /// Wraps a sync stage's result as a completed step.
    fn into_done_step<S>(self) -> Result<BatchStep<Self::Ok, S>, StageError>;
    /// Converts an async-batch stage's result.
    fn into_batch_step(self) -> Result<Self::Ok, StageError>;
}

impl<T, E: Into<StageError>> StageFnReturn for Result<T, E> {
    type Ok = T;

    fn into_done_step<S>(self) -> Result<BatchStep<T, S>, StageError> {
        self.map(BatchStep::Done).map_err(Into::into)
    }

    fn into_batch_step(self) -> Result<T, StageError> {
        self.map_err(Into::into)
    }
}

/// The success type of an async-batch stage: `BatchStep<Output, State>`.
#[diagnostic::on_unimplemented(
    message = "a `#[stage(check_completion = ..)]` fn must return `Result<BatchStep<Output, State>, StageError>`, not `Result<{Self}, _>`",
    label = "expected `BatchStep<Output, State>`",
    note = "return `BatchStep::Done(output)` to finish at once or `Suspend::new(state).into()` to be polled"
)]
pub trait BatchReturn {
    /// The stage output.
    type Output;
    /// The suspended state.
    type State;
}

impl<O, S> BatchReturn for BatchStep<O, S> {
    type Output = O;
    type State = S;
}
