//! A typed, durable workflow engine.
//!
//! Stages are `async fn`s annotated with [`macro@stage`]; workflows chain them with [`workflow!`]
//! (`a >> b >> (c | d) >> e`). Inside a stage, `ctx.require::<other_stage>()` returns that stage's typed
//! output, and reading a stage that does not run earlier, or chaining mismatched types, is a compile error.
//!
//! ```
//! use workflow_core::prelude::*;
//!
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! pub struct DocInput { pub url: String }
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! pub struct Extracted { pub text: String, pub word_count: usize }
//!
//! /// Extracts text content from a document URL.
//! #[stage(id = "extract-text")]
//! async fn extract_text(ctx: &StageContext, input: DocInput) -> Result<Extracted, StageError> {
//!     ctx.info(format!("fetching {}", input.url));
//!     let text = format!("contents of {}", input.url);
//!     Ok(Extracted { word_count: text.split_whitespace().count(), text })
//! }
//!
//! /// Summarizes the extracted text.
//! #[stage]
//! async fn summarize(ctx: &StageContext) -> Result<String, StageError> {
//!     let extracted = ctx.require::<extract_text>()?;
//!     Ok(extracted.text.chars().take(12).collect())
//! }
//!
//! workflow! {
//!     /// Extracts and summarizes documents.
//!     pub Summarizer = "summarizer" {
//!         input: DocInput,
//!         stages: extract_text >> summarize,
//!     }
//! }
//!
//! assert_eq!(Summarizer::definition().execution_plan(), [["extract-text"], ["summarize"]]);
//! ```
//!
//! What stage and workflow code uses is at the crate root ([`Stage`], [`StageContext`], [`StageError`],
//! [`BatchStep`], [`Workflow`], ...; `use workflow_core::prelude::*` brings the common ones and the
//! derives), with [`presets`] for stage configs. Running workflows: [`kernel`] (the commands and the stage
//! hot path), [`hosts`] (worker and serverless), [`ports`] (the store and other traits), [`events`]
//! (event sinks and plugins), [`ids`] (typed ids), [`ai`] (model calls from stages: `ctx.ai()`, the
//! model registry, the HTTP providers). The in-memory adapters, `FakeClock`, `StageRun`,
//! `ScriptedModel` and the conformance suite are in the `workflow-testing` crate.

// Lets the macro expansions (`::workflow_core::…`) resolve inside this crate, including its unit tests.
extern crate self as workflow_core;

pub mod adapters;
pub mod ai;
mod definition;
pub mod events;
pub mod hosts;
pub mod ids;
pub mod kernel;
pub mod metrics;
pub mod ports;
pub mod prelude;
pub mod query;
pub mod time;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use definition::config::{ConfigError, ConfigErrors};
pub use definition::context::{CheckContext, StageContext, StageEnv, StageRunInfo};
pub use definition::dyn_stage::{CheckOutcome, DynStage, StageHandle, StageSchemas, StepOutcome};
pub use definition::error::StageError;
pub use definition::outputs::StageOutputs;
pub use definition::presets;
pub use definition::record::{
    Actor, Annotation, LogEntry, LogLevel, ProgressUpdate, Recorded, Recorder,
};
pub use definition::stage::{
    BatchStep, Completion, DEFAULT_MAX_WAIT, DEFAULT_POLL_INTERVAL, NoConfig, PollSettings, Stage,
    StageData, StageMode, Suspend,
};
pub use definition::storage::StageStorage;
pub use definition::workflow::{
    StageNode, Workflow, WorkflowBuilder, WorkflowDefinition, WorkflowIo, decode_output,
};
pub use workflow_macros::{stage, workflow};
