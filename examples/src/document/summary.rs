//! `summarize`: keeps the first sentences of the text. Stands in for a model call and records its simulated
//! usage (tokens and cost at the default model's price), which the run sums into `totalCost`/`totalTokens`.

use super::types::{Extracted, SummarizeConfig, Summary};
use workflow_core::prelude::*;

/// Price of the default model, USD per million input tokens.
const INPUT_COST_PER_MILLION: f64 = 0.30;
/// Price of the default model, USD per million output tokens.
const OUTPUT_COST_PER_MILLION: f64 = 2.50;

/// Summarizes the extracted text.
#[stage]
pub async fn summarize(
    ctx: &StageContext,
    input: Extracted,
    config: SummarizeConfig,
) -> Result<Summary, StageError> {
    let sentences: Vec<&str> = input
        .text
        .split_inclusive('.')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let summary = sentences
        .iter()
        .take(config.max_sentences)
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let (input_tokens, output_tokens) = (
        input.word_count as u64,
        summary.split_whitespace().count() as u64,
    );
    let cost = input_tokens as f64 / 1e6 * INPUT_COST_PER_MILLION
        + output_tokens as f64 / 1e6 * OUTPUT_COST_PER_MILLION;
    ctx.record_usage(cost, input_tokens + output_tokens);
    ctx.annotate("ai.model", &config.ai.model);
    ctx.progress(
        1.0,
        format!(
            "kept {} of {} sentences",
            sentences.len().min(config.max_sentences),
            sentences.len()
        ),
    );
    Ok(Summary { summary })
}
