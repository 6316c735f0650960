//! `summarize`: asks the model for a summary through `ctx.ai()`, which logs the call to `ai_calls` and
//! adds its cost and tokens to the stage (and so to the run's `totalCost` / `totalTokens`). The examples
//! serve the model from a local mock ([`crate::mock_llm`]).

use super::types::{Extracted, SummarizeConfig, Summary};
use workflow_core::ai::Prompt;
use workflow_core::prelude::*;

/// Summarizes the extracted text with the configured model (`ai.model`, default `gemini-2.5-flash`).
#[stage]
pub async fn summarize(
    ctx: &StageContext,
    input: Extracted,
    config: SummarizeConfig,
) -> Result<Summary, StageError> {
    let prompt = Prompt::new(format!(
        "Summarize the text in at most {} sentences.\n\n{}",
        config.max_sentences, input.text
    ))
    .system("You write faithful, short summaries.")
    .settings(&config.ai);
    let reply = ctx.ai().generate_text(&config.ai.model, prompt).await?;
    ctx.annotate("ai.model", &config.ai.model);
    ctx.progress(
        1.0,
        format!("{} tokens, ${:.6}", reply.usage.total(), reply.cost),
    );
    Ok(Summary {
        summary: reply.value,
    })
}
