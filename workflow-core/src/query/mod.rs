//! The read-only query API for tools, status pages and event streams: [`Queries`] lists runs (filtered,
//! keyset-paginated), reads a run with its stages, annotations and AI usage, its logs and its events from a
//! cursor, the event feed of all runs, and run counts. It never writes, so it is safe to hand to a status
//! page; it works on every store (the in-memory one, SQLite and PostgreSQL), through the store port's
//! [`RunQueries`](crate::ports::RunQueries) and its read operations.
//!
//! ```
//! # async fn example(store: std::sync::Arc<dyn workflow_core::ports::Store>) -> Result<(), workflow_core::ports::StoreError> {
//! use workflow_core::ports::{RunFilter, Status};
//! use workflow_core::query::Queries;
//!
//! let queries = Queries::new(store);
//! let mut filter = RunFilter { status: Some(Status::Failed), limit: Some(50), ..RunFilter::default() };
//! loop {
//!     let page = queries.runs(&filter).await?;
//!     for run in &page.runs {
//!         println!("{} {} {}", run.id, run.workflow_id, run.created_at);
//!     }
//!     match page.next_cursor {
//!         Some(cursor) => filter.before_id = Some(cursor),
//!         None => break,
//!     }
//! }
//! # Ok(()) }
//! ```

mod views;

pub use views::{AiUsage, FeedPage, ModelUsage, RunPage, RunView, Summary};

use crate::ids::RunId;
use crate::ports::{
    AiCallLog, AnnotationFilter, LogRecord, OutboxRecord, RunFilter, RunRecord, StageRecord,
    Status, Store, StoreError,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Page size when a filter gives none.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The largest page any query returns; larger limits are lowered to it.
pub const MAX_PAGE_SIZE: usize = 1_000;

/// How long the event feed of all runs waits before it hands out an event (see [`Queries::feed`]).
pub const DEFAULT_FEED_SETTLE: Duration = Duration::from_secs(2);

/// Read-only, typed queries over a store. Cheap to clone.
#[derive(Clone)]
pub struct Queries {
    store: Arc<dyn Store>,
    ai_calls: Option<Arc<dyn AiCallLog>>,
    feed_settle: Duration,
}

impl std::fmt::Debug for Queries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queries")
            .field("store", &self.store.kind())
            .field("feed_settle", &self.feed_settle)
            .finish_non_exhaustive()
    }
}

impl Queries {
    /// Queries over `store`, with no AI call log (AI usage reads as zero until
    /// [`with_ai_calls`](Self::with_ai_calls)) and the default feed settle time.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Queries {
            store,
            ai_calls: None,
            feed_settle: DEFAULT_FEED_SETTLE,
        }
    }

    /// Reads AI usage from `log` (the `ai_calls` table on the SQL stores: `Opened::ai_calls`).
    pub fn with_ai_calls(mut self, log: Arc<dyn AiCallLog>) -> Self {
        self.ai_calls = Some(log);
        self
    }

    /// How old an event's id must be before [`feed`](Self::feed) hands it out (default 2 s). It must
    /// exceed the time from making an outbox id to committing it (the engine's transactions take
    /// milliseconds) plus the clock difference between the writers' machines.
    pub fn with_feed_settle(mut self, settle: Duration) -> Self {
        self.feed_settle = settle;
        self
    }

    /// The store queried.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// One page of runs matching `filter`, newest first; the page's
    /// [`next_cursor`](RunPage::next_cursor) continues it. The limit is capped at [`MAX_PAGE_SIZE`].
    ///
    /// # Errors
    /// The store's error.
    pub async fn runs(&self, filter: &RunFilter) -> Result<RunPage, StoreError> {
        let limit = page_size(filter.limit);
        let mut ask = filter.clone();
        ask.limit = Some(limit + 1);
        let mut runs = self.store.executor().await?.list_runs(&ask).await?;
        let more = runs.len() > limit;
        runs.truncate(limit);
        let next_cursor = more
            .then(|| runs.last().map(|run| run.id.clone()))
            .flatten();
        Ok(RunPage { runs, next_cursor })
    }

    /// The run with its stages, annotations (first 1,000) and AI usage; `None` if there is no such run.
    ///
    /// # Errors
    /// The store's error.
    pub async fn run(&self, run_id: &str) -> Result<Option<RunView>, StoreError> {
        let mut exec = self.store.executor().await?;
        let Some(run) = exec.get_run(run_id).await? else {
            return Ok(None);
        };
        let stages = exec.stages_by_run(run_id).await?;
        let annotations = exec
            .list_annotations(run_id, &AnnotationFilter::default())
            .await?;
        let ai_usage = match &self.ai_calls {
            Some(log) => AiUsage::of(
                &log.ai_calls_by_topic(&format!("workflow.{run_id}."))
                    .await?,
            ),
            None => AiUsage::default(),
        };
        Ok(Some(RunView {
            run,
            stages,
            annotations,
            ai_usage,
        }))
    }

    /// A run's logs, oldest first.
    ///
    /// # Errors
    /// The store's error.
    pub async fn logs(&self, run_id: &str) -> Result<Vec<LogRecord>, StoreError> {
        self.store.executor().await?.logs_by_run(run_id).await
    }

    /// A run's events with `sequence > after_sequence` (0 for all), by sequence, at most `limit` (capped at
    /// [`MAX_PAGE_SIZE`]). Resuming from the last sequence seen misses nothing and repeats nothing,
    /// whichever process wrote the events.
    ///
    /// # Errors
    /// The store's error.
    pub async fn events(
        &self,
        run_id: &str,
        after_sequence: i32,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.store
            .executor()
            .await?
            .outbox_after(run_id, after_sequence, page_size(Some(limit)))
            .await
    }

    /// Events of every run after the event id `after` (from the first event when `None`), by id, each
    /// run's in sequence order, at most `limit` (capped at [`MAX_PAGE_SIZE`]).
    ///
    /// Ids are cuids, which begin with the time they were made (by the system clock of the process that
    /// wrote them); a transaction that made its id earlier may commit later, so an event is handed out only
    /// once its id is older than the settle time ([`with_feed_settle`](Self::with_feed_settle), default
    /// 2 s), by which time every event with a smaller id has committed. The feed is therefore that much
    /// behind, and exact as long as writers' clocks differ by less than the settle time; a run's own
    /// stream ([`events`](Self::events)) is exact and immediate.
    ///
    /// # Errors
    /// The store's error.
    pub async fn feed(&self, after: Option<&str>, limit: usize) -> Result<FeedPage, StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let before =
            crate::ids::cuid_floor(now.saturating_sub(self.feed_settle).as_millis() as u64);
        let mut events = self
            .store
            .executor()
            .await?
            .outbox_feed(after, &before, page_size(Some(limit)))
            .await?;
        order_each_run(&mut events);
        let cursor = events
            .iter()
            .map(|event| event.id.clone())
            .max()
            .or_else(|| after.map(str::to_owned));
        Ok(FeedPage { events, cursor })
    }

    /// Run counts per status and per workflow.
    ///
    /// # Errors
    /// The store's error.
    pub async fn summary(&self) -> Result<Summary, StoreError> {
        let counts = self.store.executor().await?.count_runs().await?;
        Ok(Summary::of(&counts))
    }

    /// The `workflow_runs` row alone, `None` if there is no such run: the cheap read for tools that
    /// need only its existence or status (`run` also reads stages, annotations and AI calls).
    ///
    /// # Errors
    /// The store's error.
    pub async fn run_record(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.store.executor().await?.get_run(run_id).await
    }

    /// A run's stage rows, by execution group then stage number (what a progress view polls).
    ///
    /// # Errors
    /// The store's error.
    pub async fn stages(&self, run_id: &str) -> Result<Vec<StageRecord>, StoreError> {
        self.store.executor().await?.stages_by_run(run_id).await
    }

    /// Jobs `PENDING`, `RUNNING` and `SUSPENDED` (the queue depth; statuses without jobs are absent).
    ///
    /// # Errors
    /// The store's error.
    pub async fn queue_depth(&self) -> Result<BTreeMap<Status, u64>, StoreError> {
        self.store.executor().await?.count_active_jobs().await
    }
}

fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
}

/// Keeps the positions the events of each run occupy but puts that run's events in sequence order there
/// (ids from two machines may not follow a run's sequence).
fn order_each_run(events: &mut [OutboxRecord]) {
    let mut by_run: HashMap<RunId, Vec<OutboxRecord>> = HashMap::new();
    for event in events.iter() {
        by_run
            .entry(event.workflow_run_id.clone())
            .or_default()
            .push(event.clone());
    }
    for list in by_run.values_mut() {
        list.sort_by_key(|event| std::cmp::Reverse(event.sequence));
    }
    for slot in events.iter_mut() {
        if let Some(next) = by_run
            .get_mut(&slot.workflow_run_id)
            .and_then(|list| list.pop())
        {
            *slot = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn event(id: &str, run: &str, sequence: i32) -> OutboxRecord {
        OutboxRecord {
            id: id.into(),
            created_at: Utc::now(),
            workflow_run_id: run.into(),
            sequence,
            event_type: "stage:completed".into(),
            payload: json!({}),
            causation_id: "c".into(),
            occurred_at: Utc::now(),
            published_at: None,
            retry_count: 0,
            dlq_at: None,
        }
    }

    #[test]
    fn each_runs_events_are_put_in_sequence_order_in_their_slots() {
        let mut events = vec![
            event("a", "r1", 2),
            event("b", "r2", 1),
            event("c", "r1", 1),
            event("d", "r1", 3),
        ];
        order_each_run(&mut events);
        let got: Vec<(&str, i32)> = events
            .iter()
            .map(|e| (e.workflow_run_id.as_str(), e.sequence))
            .collect();
        assert_eq!(got, [("r1", 1), ("r2", 1), ("r1", 2), ("r1", 3)]);
    }

    #[test]
    fn page_sizes_are_capped_and_never_zero() {
        assert_eq!(page_size(None), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(0)), 1);
        assert_eq!(page_size(Some(50_000)), MAX_PAGE_SIZE);
    }
}
