//! [`InMemoryStore`]: every storage port in memory, with real transactions. A transaction holds the store's
//! lock and restores a snapshot when it is dropped uncommitted, so rollback behaves as in a database (the
//! TypeScript engine's in-memory adapter has no rollback).

mod jobs;
mod session;
mod tables;

use crate::ports::blob::BlobStore;
use crate::ports::{
    AiCallRecord, JobRecord, LogRecord, Persistence, RunRecord, Session, StageRecord, StoreError,
};
use crate::testing::InMemoryBlobStore;
use async_trait::async_trait;
use serde_json::Value;
use session::MemorySession;
use std::sync::Arc;
use tables::Tables;
use tokio::sync::{Mutex, Notify};

/// Persistence, job transport and blob store in memory.
///
/// Never call a port of the same store from a task that holds one of its transactions: the transaction
/// holds the store's lock. (The kernel never does.)
pub struct InMemoryStore {
    tables: Arc<Mutex<Tables>>,
    blobs: InMemoryBlobStore,
    job_added: Arc<Notify>,
    max_attempts: std::sync::atomic::AtomicI32,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryStore {
    /// An empty store; jobs get `maxAttempts` 3.
    pub fn new() -> Self {
        InMemoryStore {
            tables: Arc::new(Mutex::new(Tables::default())),
            blobs: InMemoryBlobStore::new(),
            job_added: Arc::new(Notify::new()),
            max_attempts: std::sync::atomic::AtomicI32::new(3),
        }
    }

    /// Sets `maxAttempts` of jobs enqueued from now on.
    pub fn set_default_max_attempts(&self, max_attempts: i32) {
        self.max_attempts
            .store(max_attempts, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn default_max_attempts(&self) -> i32 {
        self.max_attempts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every run (for assertions).
    pub async fn runs(&self) -> Vec<RunRecord> {
        self.tables.lock().await.runs.clone()
    }

    /// Every stage row.
    pub async fn stages(&self) -> Vec<StageRecord> {
        self.tables.lock().await.stages.clone()
    }

    /// Every job.
    pub async fn jobs(&self) -> Vec<JobRecord> {
        self.tables.lock().await.jobs.clone()
    }

    /// Every log line.
    pub async fn logs(&self) -> Vec<LogRecord> {
        self.tables.lock().await.logs.clone()
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
            .idempotency
            .iter()
            .map(|row| {
                (
                    row.key.clone(),
                    row.command_type.clone(),
                    row.result.clone(),
                )
            })
            .collect()
    }

    /// The blob store part.
    pub fn blob_store(&self) -> &InMemoryBlobStore {
        &self.blobs
    }

    /// Sets a job's lease time (to simulate a worker that stopped heartbeating).
    pub async fn set_job_locked_at(&self, job_id: &str, locked_at: chrono::DateTime<chrono::Utc>) {
        if let Some(job) = self
            .tables
            .lock()
            .await
            .jobs
            .iter_mut()
            .find(|job| job.id == job_id)
        {
            job.locked_at = Some(locked_at);
        }
    }
}

#[async_trait]
impl Persistence for InMemoryStore {
    async fn begin(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(
            MemorySession::transaction(self.tables.clone()).await,
        ))
    }

    async fn session(&self) -> Result<Box<dyn Session>, StoreError> {
        Ok(Box::new(MemorySession::autocommit(self.tables.clone())))
    }
}

#[async_trait]
impl BlobStore for InMemoryStore {
    async fn put(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        self.blobs.put(key, value).await
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        self.blobs.get(key).await
    }

    async fn has(&self, key: &str) -> Result<bool, StoreError> {
        self.blobs.has(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.blobs.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.blobs.list(prefix).await
    }
}
