//! Model calls from stages, with every call logged and its cost rolled into the run.
//!
//! Inside a stage, `ctx.ai()` is an [`AiHelper`] bound to the topic `workflow.<runId>.stage.<stageId>`
//! and to the store's `ai_calls` table: [`generate_text`](AiHelper::generate_text),
//! [`generate_object`](AiHelper::generate_object) (typed, schema from schemars),
//! [`embed`](AiHelper::embed), [`stream_text`](AiHelper::stream_text) and [`batch`](AiHelper::batch)
//! (providers' batch APIs, for async-batch stages) each write one `ai_calls` row — the columns and topic
//! format the TypeScript engine writes — and add their cost and tokens to the stage's `totalCost` /
//! `totalTokens` metrics, which the run sums. Nothing to record by hand.
//!
//! Which provider serves a model, under which id and at what price, is the [`ModelRegistry`]'s
//! ([`ModelSpec`]); the [`Providers`] are HTTP clients for OpenAI-compatible APIs (OpenAI, OpenRouter,
//! local servers), Anthropic and Google Gemini (feature `ai-providers`, on by default; `https` endpoints
//! need the `ai-tls` feature), or your own [`AiProvider`]. Give the kernel an [`AiSetup`] with
//! `Kernel::builder().ai(..)`; without one it uses [`AiSetup::default`] (built-in models, API keys
//! from the environment).
//!
//! ```no_run
//! use workflow_core::prelude::*;
//! use workflow_core::ai::Prompt;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Topics { topics: Vec<String> }
//!
//! #[stage]
//! async fn tag(ctx: &StageContext, text: String) -> Result<Vec<String>, StageError> {
//!     let prompt = Prompt::new(format!("List the topics of: {text}")).max_tokens(200);
//!     let reply = ctx.ai().generate_object::<Topics>("gpt-4o-mini", prompt).await?;
//!     Ok(reply.value.topics) // its cost is already in this stage's metrics and in ai_calls
//! }
//! # fn main() {}
//! ```

mod batch;
mod error;
mod helper;
mod logger;
mod models;
mod object;
mod provider;
#[cfg(feature = "ai-providers")]
pub mod providers;
mod recording;
mod setup;
mod stream;

pub use batch::{Batch, BatchHandle, BatchResult};
pub use error::AiError;
pub use helper::{AiHelper, AiReply};
pub use logger::{AiCall, AiCallLogger, AiCallType, AiUsage};
pub use models::{ModelRegistry, ModelSpec};
pub use provider::{
    AiProvider, BatchItem, BatchRequest, BatchState, BatchStatus, EmbedRequest, Embeddings,
    Generation, OutputSchema, Prompt, StreamEvent, Usage,
};
pub use setup::{AiSetup, Providers};
pub use stream::TextStream;
