//! `sentiment` and `keywords`, which run in parallel on the summary and the extracted text.

use super::extract::extract_text;
use super::types::{Keywords, KeywordsConfig, Sentiment, Summary};
use std::collections::BTreeMap;
use workflow_core::prelude::*;

const POSITIVE: &[&str] = &[
    "faster",
    "clearer",
    "smooth",
    "improved",
    "excellent",
    "great",
    "thanks",
    "restored",
];
const NEGATIVE: &[&str] = &["failed", "outage", "slow", "bad", "tedious", "cause"];
const STOPWORDS: &[&str] = &[
    "the", "and", "was", "that", "for", "but", "are", "with", "some", "every", "during", "added",
    "found", "saw", "new", "real", "makes", "lasted", "report", "team", "teams",
];

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Scores the summary's tone from a small word list.
#[stage]
pub async fn sentiment(input: Summary) -> Result<Sentiment, StageError> {
    let (mut positive, mut negative) = (0i32, 0i32);
    for word in words(&input.summary) {
        positive += i32::from(POSITIVE.contains(&word.as_str()));
        negative += i32::from(NEGATIVE.contains(&word.as_str()));
    }
    let total = positive + negative;
    let score = if total == 0 {
        0.0
    } else {
        f64::from(positive - negative) / f64::from(total)
    };
    let label = match score {
        s if s > 0.2 => "positive",
        s if s < -0.2 => "negative",
        _ => "neutral",
    };
    Ok(Sentiment {
        label: label.to_owned(),
        score,
    })
}

/// Finds the most frequent significant words of the whole extracted text.
#[stage]
pub async fn keywords(
    ctx: &StageContext,
    _input: Summary,
    config: KeywordsConfig,
) -> Result<Keywords, StageError> {
    let extracted = ctx.require::<extract_text>()?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for word in words(&extracted.text).filter(|w| w.len() > 3 && !STOPWORDS.contains(&w.as_str())) {
        *counts.entry(word).or_default() += 1;
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Keywords {
        keywords: ranked
            .into_iter()
            .take(config.top_k)
            .map(|(word, _)| word)
            .collect(),
    })
}
