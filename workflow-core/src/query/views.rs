//! What [`Queries`](super::Queries) returns: pages, a run with what belongs to it, AI usage and the
//! summary. Every type serializes to JSON (camelCase, as the TypeScript engine names the columns), so a CLI
//! or an HTTP API can hand it out as it is.

use crate::ids::RunId;
use crate::ports::{
    AiCallRecord, AnnotationRecord, OutboxRecord, RunCount, RunRecord, StageRecord, Status,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One page of runs, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunPage {
    /// The runs of this page.
    pub runs: Vec<RunRecord>,
    /// Pass as [`RunFilter::before_id`](crate::ports::RunFilter::before_id) for the next page; `None` on
    /// the last page.
    pub next_cursor: Option<RunId>,
}

/// A run with its stages, annotations and AI usage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    /// The `workflow_runs` row.
    pub run: RunRecord,
    /// Its stage rows, by execution group then stage number (status, attempt, timings, error, metrics).
    pub stages: Vec<StageRecord>,
    /// Its annotations, oldest first (at most 1,000; use the store's `list_annotations` for more).
    pub annotations: Vec<AnnotationRecord>,
    /// The AI calls its stages made, summed.
    pub ai_usage: AiUsage,
}

impl RunView {
    /// The run's output decoded as `T` (the workflow's output type), `Ok(None)` while the run has none.
    ///
    /// # Errors
    /// The JSON decoding error when the stored output is not a `T`.
    pub fn output<T: DeserializeOwned>(&self) -> Result<Option<T>, serde_json::Error> {
        self.run
            .output
            .as_ref()
            .map(|output| T::deserialize(output))
            .transpose()
    }

    /// How many stages have each status.
    pub fn stage_counts(&self) -> BTreeMap<Status, usize> {
        let mut counts = BTreeMap::new();
        for stage in &self.stages {
            *counts.entry(stage.status).or_insert(0) += 1;
        }
        counts
    }
}

/// The AI calls of a run, summed over its stages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiUsage {
    /// Number of calls.
    pub calls: usize,
    /// Prompt tokens billed.
    pub input_tokens: i64,
    /// Completion tokens billed.
    pub output_tokens: i64,
    /// Total cost in USD.
    pub cost: f64,
    /// The same sums per model key.
    pub by_model: BTreeMap<String, ModelUsage>,
}

/// The AI calls of one model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelUsage {
    /// Number of calls.
    pub calls: usize,
    /// Prompt tokens billed.
    pub input_tokens: i64,
    /// Completion tokens billed.
    pub output_tokens: i64,
    /// Cost in USD.
    pub cost: f64,
}

impl AiUsage {
    /// Sums `calls`.
    pub fn of(calls: &[AiCallRecord]) -> AiUsage {
        let mut usage = AiUsage::default();
        for call in calls {
            usage.calls += 1;
            usage.input_tokens += i64::from(call.input_tokens);
            usage.output_tokens += i64::from(call.output_tokens);
            usage.cost += call.cost;
            let model = usage.by_model.entry(call.model_key.clone()).or_default();
            model.calls += 1;
            model.input_tokens += i64::from(call.input_tokens);
            model.output_tokens += i64::from(call.output_tokens);
            model.cost += call.cost;
        }
        usage
    }
}

/// Run counts for a summary page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Every run.
    pub total: u64,
    /// Runs per status (statuses without runs are absent).
    pub by_status: BTreeMap<Status, u64>,
    /// Runs per workflow and status.
    pub by_workflow: BTreeMap<String, BTreeMap<Status, u64>>,
}

impl Summary {
    /// Folds the store's per-(workflow, status) counts.
    pub fn of(counts: &[RunCount]) -> Summary {
        let mut summary = Summary::default();
        for count in counts {
            summary.total += count.count;
            *summary.by_status.entry(count.status).or_insert(0) += count.count;
            *summary
                .by_workflow
                .entry(count.workflow_id.to_string())
                .or_default()
                .entry(count.status)
                .or_insert(0) += count.count;
        }
        summary
    }
}

/// One page of the event feed of all runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedPage {
    /// Events by id, each run's in sequence order.
    pub events: Vec<OutboxRecord>,
    /// Pass as `after` for the next page (the last event's id, or the `after` given when the page is
    /// empty).
    pub cursor: Option<String>,
}
