//! Inputs, outputs and configs of the document processor's stages. JSON field names are camelCase, as the
//! TypeScript engine's stages write them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use workflow_core::presets::AiConfig;

/// The workflow input: the document to process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocInput {
    /// Where the document lives.
    pub url: String,
}

/// Output of `extract-text`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Extracted {
    /// The document's text.
    pub text: String,
    /// Number of words in `text`.
    pub word_count: usize,
}

/// Config of `extract-text`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct ExtractConfig {
    /// Longest text kept, in characters (default 50 000).
    pub max_length: usize,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig { max_length: 50_000 }
    }
}

/// Output of `summarize`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// The summary.
    pub summary: String,
}

/// Config of `summarize`: the AI preset plus the summary length.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct SummarizeConfig {
    /// Model settings (`model`, `temperature`, `maxTokens`).
    #[serde(flatten)]
    pub ai: AiConfig,
    /// Sentences kept in the summary (default 2).
    pub max_sentences: usize,
}

impl Default for SummarizeConfig {
    fn default() -> Self {
        SummarizeConfig {
            ai: AiConfig::default(),
            max_sentences: 2,
        }
    }
}

/// Output of `sentiment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sentiment {
    /// `positive`, `negative` or `neutral`.
    pub label: String,
    /// From -1 (negative) to 1 (positive).
    pub score: f64,
}

/// Output of `keywords`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Keywords {
    /// The most frequent significant words, most frequent first.
    pub keywords: Vec<String>,
}

/// Config of `keywords`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct KeywordsConfig {
    /// How many keywords to keep (default 5).
    pub top_k: usize,
}

impl Default for KeywordsConfig {
    fn default() -> Self {
        KeywordsConfig { top_k: 5 }
    }
}

/// Output of `aggregate`, the workflow's output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentReport {
    /// The document's length in words.
    pub word_count: usize,
    /// The summary.
    pub summary: String,
    /// The sentiment label and score.
    pub sentiment: Sentiment,
    /// The keywords.
    pub keywords: Vec<String>,
}
