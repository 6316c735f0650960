//! The read-only [`RunQueries`] of the in-memory store. Listing scans every run (it is a test store; the
//! SQL stores answer from indexes); a run's events come from its sequence index.

use super::session::MemorySession;
use super::tables::Tables;
use async_trait::async_trait;
use std::collections::BTreeMap;
use workflow_core::ports::*;

#[async_trait]
impl RunQueries for MemorySession {
    async fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self.with(|t| list_runs(t, filter)).await)
    }

    async fn count_runs(&mut self) -> Result<Vec<RunCount>, StoreError> {
        Ok(self
            .with(|t| {
                let mut counts: BTreeMap<(String, Status), u64> = BTreeMap::new();
                for run in t.runs() {
                    *counts
                        .entry((run.workflow_id.to_string(), run.status))
                        .or_insert(0) += 1;
                }
                counts
                    .into_iter()
                    .map(|((workflow_id, status), count)| RunCount {
                        workflow_id: workflow_id.into(),
                        status,
                        count,
                    })
                    .collect()
            })
            .await)
    }

    async fn count_active_jobs(&mut self) -> Result<BTreeMap<Status, u64>, StoreError> {
        Ok(self
            .with(|t| {
                let mut counts = BTreeMap::new();
                for (job, _) in t.jobs.values() {
                    if matches!(
                        job.status,
                        Status::Pending | Status::Running | Status::Suspended
                    ) {
                        *counts.entry(job.status).or_insert(0) += 1;
                    }
                }
                counts
            })
            .await)
    }

    async fn outbox_after(
        &mut self,
        run_id: &str,
        after_sequence: i32,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        Ok(self
            .with(|t| {
                t.outbox_of_run(run_id)
                    .into_iter()
                    .filter(|event| event.sequence > after_sequence)
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn outbox_feed(
        &mut self,
        after_id: Option<&str>,
        before_id: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        Ok(self
            .with(|t| {
                let mut events: Vec<OutboxRecord> = t
                    .outbox
                    .values()
                    .filter(|event| after_id.is_none_or(|after| event.id.as_str() > after))
                    .filter(|event| event.id.as_str() < before_id)
                    .cloned()
                    .collect();
                events.sort_by(|a, b| a.id.cmp(&b.id));
                events.truncate(limit);
                events
            })
            .await)
    }
}

fn list_runs(tables: &Tables, filter: &RunFilter) -> Vec<RunRecord> {
    let annotated = |run: &RunRecord| match &filter.annotation {
        None => true,
        Some((key, value)) => tables
            .annotations_of_run(&run.id)
            .iter()
            .any(|row| &row.key == key && &row.value == value),
    };
    let mut runs: Vec<RunRecord> = tables
        .runs()
        .filter(|run| filter.status.is_none_or(|s| run.status == s))
        .filter(|run| {
            filter
                .workflow_id
                .as_deref()
                .is_none_or(|w| run.workflow_id == w)
        })
        .filter(|run| {
            filter
                .created_from
                .is_none_or(|from| run.created_at >= from)
        })
        .filter(|run| {
            filter
                .created_before
                .is_none_or(|before| run.created_at < before)
        })
        .filter(|run| {
            filter
                .before_id
                .as_deref()
                .is_none_or(|before| run.id.as_str() < before)
        })
        .filter(|run| annotated(run))
        .cloned()
        .collect();
    runs.sort_by(|a, b| b.id.cmp(&a.id));
    runs.truncate(filter.limit.unwrap_or(100));
    runs
}
