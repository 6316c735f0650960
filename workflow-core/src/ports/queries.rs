//! The read-only queries of tools, status pages and event streams ([`RunQueries`]), kept apart from the
//! engine's own operations. Each is backed by an index of the Prisma schema, so its cost does not grow
//! with the number of finished rows: runs are listed by primary key (cuid ids begin with their creation
//! time, so `id` order is creation order), a run's events by `@@unique([workflowRunId, sequence])`, the
//! event feed of all runs by primary key.
//!
//! Most callers want the typed facade [`crate::query::Queries`] over these.

use super::error::StoreError;
use super::records::{OutboxRecord, RunRecord};
use super::status::Status;
use crate::ids::{RunId, WorkflowId};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

/// Which runs [`RunQueries::list_runs`] returns. Every field narrows the list; the default is every run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunFilter {
    /// Only runs with this status.
    pub status: Option<Status>,
    /// Only runs of this workflow.
    pub workflow_id: Option<WorkflowId>,
    /// Only runs created at or after this instant (inclusive).
    pub created_from: Option<DateTime<Utc>>,
    /// Only runs created before this instant (exclusive).
    pub created_before: Option<DateTime<Utc>>,
    /// Only runs carrying an annotation with this key and exactly this JSON value.
    pub annotation: Option<(String, Value)>,
    /// Keyset cursor: only runs whose id sorts before this one (the last id of the previous page).
    pub before_id: Option<RunId>,
    /// At most this many runs (default 100).
    pub limit: Option<usize>,
}

/// How many runs of one workflow have one status.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunCount {
    /// The workflow's id.
    pub workflow_id: WorkflowId,
    /// The status counted.
    pub status: Status,
    /// Number of runs.
    pub count: u64,
}

/// Read-only queries over runs and the outbox, on every store (a supertrait of
/// [`Executor`](super::Executor), so any executor or transaction answers them).
#[async_trait]
pub trait RunQueries: Send {
    /// Runs matching `filter`, newest first by id (cuid ids begin with their creation time in ms, so this
    /// is creation order up to the writers' clocks), at most `filter.limit` (default 100).
    async fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError>;

    /// Number of runs per workflow and status (only the pairs that have runs), sorted by workflow then
    /// status.
    async fn count_runs(&mut self) -> Result<Vec<RunCount>, StoreError>;

    /// Number of `PENDING`, `RUNNING` and `SUSPENDED` jobs (the queue depth; statuses without jobs are
    /// absent), from the `(status, priority)` index on the SQL stores.
    async fn count_active_jobs(&mut self) -> Result<BTreeMap<Status, u64>, StoreError>;

    /// A run's outbox events with `sequence > after_sequence`, by sequence, at most `limit`. A run's
    /// sequences become visible in order (each is appended under the run's outbox lock), so a reader that
    /// resumes from the last sequence it saw misses nothing and sees nothing twice.
    async fn outbox_after(
        &mut self,
        run_id: &str,
        after_sequence: i32,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Outbox events of every run with `after_id < id < before_id` (no lower bound when `after_id` is
    /// `None`), by id, at most `limit`. Both bounds are on the id alone, so the page is a prefix of the id
    /// order: `before_id` (a [`cuid_floor`](crate::ids::cuid_floor) of some time ago) lets a reader wait
    /// until the transactions that made earlier ids have committed (see [`crate::query::Queries::feed`]).
    async fn outbox_feed(
        &mut self,
        after_id: Option<&str>,
        before_id: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError>;
}
