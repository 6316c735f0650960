//! The in-memory [`Session`]: a transaction (lock held, snapshot kept for rollback) or autocommit.

use super::tables::Tables;
use crate::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

pub(crate) enum Mode {
    Transaction {
        guard: OwnedMutexGuard<Tables>,
        snapshot: Option<Tables>,
    },
    Autocommit(Arc<Mutex<Tables>>),
}

/// A session on an [`InMemoryStore`](super::InMemoryStore).
pub(crate) struct MemorySession {
    pub(crate) store: Arc<Mutex<Tables>>,
    pub(crate) mode: Mode,
}

impl MemorySession {
    pub(crate) async fn transaction(store: Arc<Mutex<Tables>>) -> Self {
        let guard = store.clone().lock_owned().await;
        let snapshot = Some(guard.clone());
        MemorySession {
            store,
            mode: Mode::Transaction { guard, snapshot },
        }
    }

    pub(crate) fn autocommit(store: Arc<Mutex<Tables>>) -> Self {
        MemorySession {
            store: store.clone(),
            mode: Mode::Autocommit(store),
        }
    }

    /// Runs `op` on the tables this session sees.
    pub(crate) async fn with<T>(&mut self, op: impl FnOnce(&mut Tables) -> T) -> T {
        match &mut self.mode {
            Mode::Transaction { guard, .. } => op(guard),
            Mode::Autocommit(store) => op(&mut *store.lock().await),
        }
    }
}

impl Drop for MemorySession {
    fn drop(&mut self) {
        if let Mode::Transaction { guard, snapshot } = &mut self.mode
            && let Some(snapshot) = snapshot.take()
        {
            **guard = snapshot; // rollback
        }
    }
}

#[async_trait]
impl Session for MemorySession {
    async fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        if let Mode::Transaction { snapshot, .. } = &mut self.mode {
            snapshot.take();
        }
        Ok(())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    async fn create_run(
        &mut self,
        run: NewRun,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        Ok(self.with(|t| t.create_run(run, now)).await)
    }

    async fn get_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self
            .with(|t| t.runs.iter().find(|run| run.id == id).cloned())
            .await)
    }

    async fn update_run(
        &mut self,
        id: &str,
        update: RunUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        self.with(|t| t.update_run(id, update, expected, now)).await
    }

    async fn claim_next_pending_run(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        Ok(self.with(|t| t.claim_next_pending_run(now)).await)
    }

    async fn quarantine_run(
        &mut self,
        id: &str,
        output: Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let update = RunUpdate {
            status: Some(Status::Failed),
            completed_at: Some(Some(now)),
            output: Some(Some(output)),
            ..Default::default()
        };
        self.with(|t| t.update_run(id, update, None, now))
            .await
            .map(drop)
    }

    async fn stuck_runs(&mut self, since: DateTime<Utc>) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self.with(|t| t.stuck_runs(since)).await)
    }

    async fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self.with(|t| t.list_runs(filter)).await)
    }

    async fn create_stage(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        self.with(|t| t.create_stage(stage, now)).await
    }

    async fn insert_stage_if_absent(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        self.with(|t| t.insert_stage_if_absent(stage, now)).await
    }

    async fn update_stage(
        &mut self,
        id: &str,
        update: StageUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        self.with(|t| t.update_stage(id, update, expected, now))
            .await
    }

    async fn get_stage(
        &mut self,
        run_id: &str,
        stage_id: &str,
    ) -> Result<Option<StageRecord>, StoreError> {
        Ok(self
            .with(|t| {
                t.stages
                    .iter()
                    .find(|s| s.workflow_run_id == run_id && s.stage_id == stage_id)
                    .cloned()
            })
            .await)
    }

    async fn stages_by_run(&mut self, run_id: &str) -> Result<Vec<StageRecord>, StoreError> {
        Ok(self.with(|t| t.stages_by_run(run_id)).await)
    }

    async fn suspended_stages_due(
        &mut self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StageRecord>, StoreError> {
        Ok(self
            .with(|t| {
                t.stages
                    .iter()
                    .filter(|s| {
                        s.status == Status::Suspended
                            && s.next_poll_at.is_some_and(|at| at <= before)
                    })
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn delete_stages_from_group(
        &mut self,
        run_id: &str,
        group: i32,
    ) -> Result<Vec<StageRecord>, StoreError> {
        Ok(self
            .with(|t| t.delete_stages_from_group(run_id, group))
            .await)
    }

    async fn create_log(&mut self, log: NewLog, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|t| {
            t.logs.push(LogRecord {
                id: crate::ids::cuid(),
                created_at: now,
                workflow_run_id: log.workflow_run_id,
                workflow_stage_id: log.workflow_stage_id,
                level: log.level,
                message: log.message,
                metadata: log.metadata,
            })
        })
        .await;
        Ok(())
    }

    async fn logs_by_run(&mut self, run_id: &str) -> Result<Vec<LogRecord>, StoreError> {
        Ok(self
            .with(|t| {
                t.logs
                    .iter()
                    .filter(|l| l.workflow_run_id.as_deref() == Some(run_id))
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn append_annotations(
        &mut self,
        rows: Vec<NewAnnotation>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        Ok(self.with(|t| t.append_annotations(rows, now)).await)
    }

    async fn list_annotations(
        &mut self,
        run_id: &str,
        filter: &AnnotationFilter,
    ) -> Result<Vec<AnnotationRecord>, StoreError> {
        Ok(self.with(|t| t.list_annotations(run_id, filter)).await)
    }

    async fn append_outbox(
        &mut self,
        run_id: &str,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| t.append_outbox(run_id, events, now)).await;
        Ok(())
    }

    async fn unpublished_outbox(&mut self, limit: usize) -> Result<Vec<OutboxRecord>, StoreError> {
        Ok(self.with(|t| t.unpublished_outbox(limit)).await)
    }

    async fn outbox_by_run(&mut self, run_id: &str) -> Result<Vec<OutboxRecord>, StoreError> {
        Ok(self
            .with(|t| {
                let mut rows: Vec<OutboxRecord> = t
                    .outbox
                    .iter()
                    .filter(|e| e.workflow_run_id == run_id)
                    .cloned()
                    .collect();
                rows.sort_by_key(|e| e.sequence);
                rows
            })
            .await)
    }

    async fn mark_outbox_published(
        &mut self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            for event in t.outbox.iter_mut().filter(|e| ids.contains(&e.id)) {
                event.published_at = Some(now);
            }
        })
        .await;
        Ok(())
    }

    async fn increment_outbox_retry(&mut self, id: &str) -> Result<i32, StoreError> {
        self.with(|t| {
            let row = t.outbox_row(id)?;
            row.retry_count += 1;
            Ok(row.retry_count)
        })
        .await
    }

    async fn move_outbox_to_dlq(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.with(|t| t.outbox_row(id).map(|row| row.dlq_at = Some(now)))
            .await
    }

    async fn replay_dlq(&mut self, limit: usize) -> Result<usize, StoreError> {
        Ok(self.with(|t| t.replay_dlq(limit)).await)
    }

    async fn acquire_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        now: DateTime<Utc>,
        stale_after: Option<Duration>,
    ) -> Result<IdempotencyAcquire, StoreError> {
        Ok(self
            .with(|t| t.acquire_idempotency_key(key, command_type, now, stale_after))
            .await)
    }

    async fn complete_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        result: &Value,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            if let Some(row) = t
                .idempotency
                .iter_mut()
                .find(|r| r.key == key && r.command_type == command_type)
            {
                row.result = result.clone();
            }
        })
        .await;
        Ok(())
    }

    async fn release_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            t.idempotency
                .retain(|r| !(r.key == key && r.command_type == command_type))
        })
        .await;
        Ok(())
    }

    async fn get_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<Option<Value>, StoreError> {
        Ok(self
            .with(|t| {
                t.idempotency
                    .iter()
                    .find(|r| r.key == key && r.command_type == command_type)
                    .map(|r| r.result.clone())
            })
            .await)
    }

    async fn log_ai_call(&mut self, call: AiCallRecord) -> Result<String, StoreError> {
        let id = call.id.clone();
        self.with(|t| t.ai_calls.push(call)).await;
        Ok(id)
    }

    async fn ai_calls_by_topic(
        &mut self,
        topic_prefix: &str,
    ) -> Result<Vec<AiCallRecord>, StoreError> {
        Ok(self
            .with(|t| {
                t.ai_calls
                    .iter()
                    .filter(|c| c.topic.starts_with(topic_prefix))
                    .cloned()
                    .collect()
            })
            .await)
    }
}
