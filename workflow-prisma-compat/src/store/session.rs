//! [`SqlSession`]: a transaction or a pooled connection, implementing [`Session`] with the statements of
//! [`crate::ops`].

use crate::ops::{records, runs, stages};
use crate::sql::SqlConn;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::{Database, Transaction};
use std::any::Any;
use std::time::Duration;
use workflow_core::ports::*;

enum Holder<DB: Database> {
    Transaction(Transaction<'static, DB>),
    Connection(PoolConnection<DB>),
}

/// A session on a [`SqlStore`](super::SqlStore).
pub struct SqlSession<DB: Database> {
    holder: Holder<DB>,
}

impl<DB: Database> SqlSession<DB>
where
    DB::Connection: SqlConn,
{
    pub(crate) fn transaction(tx: Transaction<'static, DB>) -> Self {
        SqlSession {
            holder: Holder::Transaction(tx),
        }
    }

    pub(crate) fn autocommit(conn: PoolConnection<DB>) -> Self {
        SqlSession {
            holder: Holder::Connection(conn),
        }
    }

    /// The connection statements run on.
    pub(crate) fn conn(&mut self) -> &mut dyn SqlConn {
        match &mut self.holder {
            Holder::Transaction(tx) => &mut **tx,
            Holder::Connection(conn) => &mut **conn,
        }
    }
}

#[async_trait]
impl<DB: Database> Session for SqlSession<DB>
where
    DB::Connection: SqlConn,
{
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        match self.holder {
            Holder::Transaction(tx) => tx.commit().await.map_err(crate::sql::backend("commit")),
            Holder::Connection(_) => Ok(()),
        }
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    async fn create_run(
        &mut self,
        run: NewRun,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        runs::create(self.conn(), run, now).await
    }

    async fn get_run(&mut self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        runs::get(self.conn(), id).await
    }

    async fn update_run(
        &mut self,
        id: &str,
        update: RunUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        runs::update(self.conn(), id, update, expected, now).await
    }

    async fn claim_next_pending_run(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Option<RunRecord>, StoreError> {
        runs::claim_next_pending(self.conn(), now).await
    }

    async fn quarantine_run(
        &mut self,
        id: &str,
        output: Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        runs::quarantine(self.conn(), id, output, now).await
    }

    async fn stuck_runs(&mut self, since: DateTime<Utc>) -> Result<Vec<RunRecord>, StoreError> {
        runs::stuck(self.conn(), since).await
    }

    async fn list_runs(&mut self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        runs::list(self.conn(), filter).await
    }

    async fn create_stage(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        stages::create(self.conn(), stage, now).await
    }

    async fn insert_stage_if_absent(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        stages::insert_if_absent(self.conn(), stage, now).await
    }

    async fn update_stage(
        &mut self,
        id: &str,
        update: StageUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        stages::update(self.conn(), id, update, expected, now).await
    }

    async fn get_stage(
        &mut self,
        run_id: &str,
        stage_id: &str,
    ) -> Result<Option<StageRecord>, StoreError> {
        stages::get(self.conn(), run_id, stage_id).await
    }

    async fn stages_by_run(&mut self, run_id: &str) -> Result<Vec<StageRecord>, StoreError> {
        stages::by_run(self.conn(), run_id).await
    }

    async fn suspended_stages_due(
        &mut self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<StageRecord>, StoreError> {
        stages::suspended_due(self.conn(), before, limit).await
    }

    async fn delete_stages_from_group(
        &mut self,
        run_id: &str,
        group: i32,
    ) -> Result<Vec<StageRecord>, StoreError> {
        stages::delete_from_group(self.conn(), run_id, group).await
    }

    async fn create_log(&mut self, log: NewLog, now: DateTime<Utc>) -> Result<(), StoreError> {
        records::create_log(self.conn(), log, now).await
    }

    async fn logs_by_run(&mut self, run_id: &str) -> Result<Vec<LogRecord>, StoreError> {
        records::logs_by_run(self.conn(), run_id).await
    }

    async fn append_annotations(
        &mut self,
        rows: Vec<NewAnnotation>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        records::append_annotations(self.conn(), rows, now).await
    }

    async fn list_annotations(
        &mut self,
        run_id: &str,
        filter: &AnnotationFilter,
    ) -> Result<Vec<AnnotationRecord>, StoreError> {
        records::list_annotations(self.conn(), run_id, filter).await
    }

    async fn append_outbox(
        &mut self,
        run_id: &str,
        events: Vec<NewOutboxEvent>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        records::append_outbox(self.conn(), run_id, events, now).await
    }

    async fn unpublished_outbox(&mut self, limit: usize) -> Result<Vec<OutboxRecord>, StoreError> {
        records::unpublished_outbox(self.conn(), limit).await
    }

    async fn outbox_by_run(&mut self, run_id: &str) -> Result<Vec<OutboxRecord>, StoreError> {
        records::outbox_by_run(self.conn(), run_id).await
    }

    async fn mark_outbox_published(
        &mut self,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        records::mark_published(self.conn(), ids, now).await
    }

    async fn increment_outbox_retry(&mut self, id: &str) -> Result<i32, StoreError> {
        records::increment_retry(self.conn(), id).await
    }

    async fn move_outbox_to_dlq(&mut self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        records::move_to_dlq(self.conn(), id, now).await
    }

    async fn replay_dlq(&mut self, limit: usize) -> Result<usize, StoreError> {
        records::replay_dlq(self.conn(), limit).await
    }

    async fn acquire_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        now: DateTime<Utc>,
        stale_after: Option<Duration>,
    ) -> Result<IdempotencyAcquire, StoreError> {
        records::acquire_idempotency(self.conn(), key, command_type, now, stale_after).await
    }

    async fn complete_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
        result: &Value,
    ) -> Result<(), StoreError> {
        records::complete_idempotency(self.conn(), key, command_type, result).await
    }

    async fn release_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<(), StoreError> {
        records::release_idempotency(self.conn(), key, command_type).await
    }

    async fn get_idempotency_key(
        &mut self,
        key: &str,
        command_type: &str,
    ) -> Result<Option<Value>, StoreError> {
        records::get_idempotency(self.conn(), key, command_type).await
    }

    async fn log_ai_call(&mut self, call: AiCallRecord) -> Result<String, StoreError> {
        records::log_ai_call(self.conn(), call).await
    }

    async fn ai_calls_by_topic(
        &mut self,
        topic_prefix: &str,
    ) -> Result<Vec<AiCallRecord>, StoreError> {
        records::ai_calls_by_topic(self.conn(), topic_prefix).await
    }
}
