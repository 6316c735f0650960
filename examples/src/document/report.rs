//! `aggregate`: combines the parallel analyses with earlier outputs into the final report.

use super::extract::extract_text;
use super::summary::summarize;
use super::types::{DocumentReport, Keywords, Sentiment};
use workflow_core::prelude::*;

/// Combines summary, sentiment and keywords into one report.
#[stage]
pub async fn aggregate(
    ctx: &StageContext,
    input: (Sentiment, Keywords),
) -> Result<DocumentReport, StageError> {
    let (sentiment, keywords) = input;
    let extracted = ctx.require::<extract_text>()?;
    let summary = ctx.require::<summarize>()?;
    ctx.annotate("report.sentiment", &sentiment.label);
    Ok(DocumentReport {
        word_count: extracted.word_count,
        summary: summary.summary.clone(),
        sentiment,
        keywords: keywords.keywords,
    })
}
