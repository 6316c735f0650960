//! [`InMemoryStore`]: the [`Store`] port in memory, with real transactions. A transaction holds the store's
//! lock and rolls back through an undo log when dropped uncommitted, so rollback behaves as in a database
//! (the TypeScript engine's in-memory adapter has no rollback); indexes keep every operation independent of
//! how many rows the store holds.

mod executor;
mod jobs;
mod queries;
mod record_rows;
mod records;
mod runs;
mod session;
mod tables;

use async_trait::async_trait;
use serde_json::Value;
use session::MemorySession;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use tables::Tables;
use tokio::sync::{Mutex, Notify};
use workflow_core::ports::*;

/// Every storage port in memory: runs, stages, jobs, logs, annotations, outbox, idempotency keys, blobs
/// and AI calls.
///
/// Never call the store from a task that holds one of its transactions: the transaction holds the
/// store's lock. (The kernel never does; event sinks and plugins called by the outbox relay must not
/// dispatch kernel commands on the same in-memory store.)
pub struct InMemoryStore {
    tables: Arc<Mutex<Tables>>,
    signals: HashMap<Signal, Notify>,
    max_attempts: AtomicI32,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InMemoryStore")
    }
}

impl InMemoryStore {
    /// An empty store; jobs get `maxAttempts` 3.
    pub fn new() -> Self {
        let signals = [
            Signal::Jobs,
            Signal::Runs,
            Signal::Suspended,
            Signal::Events,
        ]
        .into_iter()
        .map(|signal| (signal, Notify::new()))
        .collect();
        InMemoryStore {
            tables: Arc::new(Mutex::new(Tables::default())),
            signals,
            max_attempts: AtomicI32::new(3),
        }
    }

    /// Sets `maxAttempts` of jobs enqueued from now on.
    pub fn set_default_max_attempts(&self, max_attempts: i32) {
        self.max_attempts.store(max_attempts, Ordering::Relaxed);
    }

    /// Every run (for assertions), oldest first.
    pub async fn runs(&self) -> Vec<RunRecord> {
        let mut runs: Vec<RunRecord> = self.tables.lock().await.runs().cloned().collect();
        runs.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        runs
    }

    /// Every job, in enqueue order.
    pub async fn jobs(&self) -> Vec<JobRecord> {
        let tables = self.tables.lock().await;
        let mut jobs: Vec<(JobRecord, u64)> =
            tables.jobs().map(|(job, seq)| (job.clone(), seq)).collect();
        jobs.sort_by_key(|(_, seq)| *seq);
        jobs.into_iter().map(|(job, _)| job).collect()
    }

    /// Every AI call.
    pub async fn ai_calls(&self) -> Vec<AiCallRecord> {
        self.tables.lock().await.ai_calls.clone()
    }

    /// Every idempotency key as `(key, command type, result)`.
    pub async fn idempotency_keys(&self) -> Vec<(String, String, Value)> {
        self.tables
            .lock()
            .await
            .idempotency_rows()
            .map(|row| {
                (
                    row.key.clone(),
                    row.command_type.clone(),
                    row.result.clone(),
                )
            })
            .collect()
    }

    /// Sets a job's lease time (to simulate a worker that stopped heartbeating).
    pub async fn set_job_locked_at(&self, job_id: &str, locked_at: chrono::DateTime<chrono::Utc>) {
        let mut tables = self.tables.lock().await;
        if let Some(mut job) = tables.job(job_id).cloned() {
            job.locked_at = Some(locked_at);
            tables.set_job(job_id, Some(job));
        }
    }

    fn max_attempts(&self) -> i32 {
        self.max_attempts.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Store for InMemoryStore {
    async fn begin(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(
            MemorySession::transaction(self.tables.clone(), self.max_attempts()).await,
        ))
    }

    async fn executor(&self) -> Result<Box<dyn Executor>, StoreError> {
        Ok(Box::new(MemorySession::autocommit(
            self.tables.clone(),
            self.max_attempts(),
        )))
    }

    async fn wait(&self, signal: Signal, max_wait: Duration) {
        let _ = tokio::time::timeout(max_wait, self.signals[&signal].notified()).await;
    }

    fn notify(&self, signal: Signal) {
        let notify = &self.signals[&signal];
        notify.notify_waiters();
        // A waiter between a look at the store and its wait would miss `notify_waiters`; a stored permit
        // wakes it.
        notify.notify_one();
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    fn ai_call_log(self: Arc<Self>) -> Option<Arc<dyn AiCallLog>> {
        Some(self)
    }
}

#[async_trait]
impl AiCallLog for InMemoryStore {
    async fn log_ai_call(&self, call: AiCallRecord) -> Result<String, StoreError> {
        let id = call.id.clone();
        self.tables.lock().await.add_ai_call(call);
        Ok(id)
    }

    async fn ai_calls_by_topic(&self, topic_prefix: &str) -> Result<Vec<AiCallRecord>, StoreError> {
        let mut calls: Vec<AiCallRecord> = self
            .tables
            .lock()
            .await
            .ai_calls
            .iter()
            .filter(|c| c.topic.starts_with(topic_prefix))
            .cloned()
            .collect();
        calls.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(calls)
    }
}
