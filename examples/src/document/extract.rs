//! `extract-text`: reads a document. Documents are served from a small built-in library so the example needs
//! no network; an unknown URL fails the stage without retries.

use super::types::{DocInput, ExtractConfig, Extracted};
use workflow_core::prelude::*;

/// The documents the example "fetches", by URL.
pub const LIBRARY: &[(&str, &str)] = &[
    (
        "https://example.com/rust-release.txt",
        "The new release makes builds faster and error messages clearer. Teams report that the upgrade was smooth \
         and the improved diagnostics save real time. Some users found the migration of old macros tedious, but the \
         overall reception is excellent. The compiler team thanks every contributor for the great work.",
    ),
    (
        "https://example.com/outage-report.txt",
        "The storage cluster failed during the night and the outage lasted three hours. Customers saw slow pages \
         and failed uploads. The root cause was a bad configuration change. The team restored service and added a \
         review step for configuration changes.",
    ),
];

/// Extracts text content from a document URL.
#[stage(id = "extract-text")]
pub async fn extract_text(
    ctx: &StageContext,
    input: DocInput,
    config: ExtractConfig,
) -> Result<Extracted, StageError> {
    let Some((_, body)) = LIBRARY.iter().find(|(url, _)| *url == input.url) else {
        return Err(
            StageError::fatal(format!("no document at {}", input.url)).with_name("NotFound")
        );
    };
    let text: String = body.chars().take(config.max_length).collect();
    let word_count = text.split_whitespace().count();
    ctx.log(
        LogLevel::Info,
        "Extraction complete",
        serde_json::json!({ "length": text.len() }),
    );
    ctx.progress(1.0, format!("extracted {word_count} words"));
    Ok(Extracted { text, word_count })
}
