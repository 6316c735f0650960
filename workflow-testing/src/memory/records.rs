//! Logs, annotations, the outbox, idempotency keys and blobs of the in-memory store.

use super::tables::{IdempotencyRow, Tables};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use workflow_core::ids::RunId;
use workflow_core::ids::cuid;
use workflow_core::ports::*;
use workflow_core::ports::{in_progress_marker, is_in_progress_marker};

impl Tables {
    pub fn create_logs(&mut self, logs: Vec<NewLog>, now: DateTime<Utc>) {
        for log in logs {
            self.add_log(LogRecord {
                id: cuid(),
                created_at: now,
                workflow_run_id: log.workflow_run_id,
                workflow_stage_id: log.workflow_stage_id,
                level: log.level,
                message: log.message,
                metadata: log.metadata,
            });
        }
    }

    pub fn append_annotations(&mut self, rows: Vec<NewAnnotation>, now: DateTime<Utc>) -> usize {
        let mut inserted = 0;
        for row in rows {
            if let Some(key) = &row.idempotency_key
                && self.annotation_exists(&row.workflow_run_id, &row.key, key)
            {
                continue;
            }
            self.add_annotation(AnnotationRecord {
                id: cuid(),
                created_at: now,
                workflow_run_id: row.workflow_run_id,
                workflow_stage_record_id: row.workflow_stage_record_id,
                attempt: row.attempt,
                scope: row.scope,
                scope_id: row.scope_id,
                actor_kind: row.actor_kind,
                actor_id: row.actor_id,
                actor_version: row.actor_version,
                key: row.key,
                value: row.value,
                payload: row.payload,
                idempotency_key: row.idempotency_key,
            });
            inserted += 1;
        }
        inserted
    }

    pub fn list_annotations(
        &self,
        run_id: &str,
        filter: &AnnotationFilter,
    ) -> Vec<AnnotationRecord> {
        let mut rows: Vec<AnnotationRecord> = self
            .annotations_of_run(run_id)
            .into_iter()
            .filter(|a| filter.matches(a))
            .cloned()
            .collect();
        rows.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        rows.truncate(
            filter
                .limit
                .unwrap_or(workflow_core::kernel::DEFAULT_LIST_LIMIT),
        );
        rows
    }

    pub fn append_outbox(&mut self, events: Vec<NewOutboxEvent>, now: DateTime<Utc>) {
        let mut next: HashMap<RunId, i32> = HashMap::new();
        for event in events {
            let run = event.workflow_run_id.clone();
            let sequence = match next.get(&run) {
                Some(sequence) => *sequence,
                None => self.last_sequence(&run) + 1,
            };
            next.insert(run.clone(), sequence + 1);
            let id = cuid();
            self.set_outbox(
                &id.clone(),
                Some(OutboxRecord {
                    id,
                    created_at: now,
                    workflow_run_id: run,
                    sequence,
                    event_type: event.event_type,
                    payload: event.payload,
                    causation_id: event.causation_id,
                    occurred_at: event.occurred_at,
                    published_at: None,
                    retry_count: 0,
                    dlq_at: None,
                }),
            );
        }
    }

    pub fn claim_outbox(&self, limit: usize) -> Vec<OutboxRecord> {
        self.undelivered
            .iter()
            .take(limit)
            .filter_map(|(_, _, id)| self.outbox_row(id).cloned())
            .collect()
    }

    pub fn change_outbox(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut OutboxRecord),
    ) -> Result<i32, StoreError> {
        let mut row = self
            .outbox_row(id)
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                entity: "OutboxEvent",
                id: id.to_owned(),
            })?;
        change(&mut row);
        let retries = row.retry_count;
        self.set_outbox(id, Some(row));
        Ok(retries)
    }

    pub fn replay_dlq(&mut self, limit: usize) -> usize {
        let ids: Vec<String> = self
            .dead_letters
            .iter()
            .take(limit)
            .map(|(_, id)| id.clone())
            .collect();
        for id in &ids {
            let _ = self.change_outbox(id, |event| {
                event.dlq_at = None;
                event.retry_count = 0;
            });
        }
        ids.len()
    }

    pub fn acquire_idempotency_key(
        &mut self,
        key: &str,
        command: &str,
        now: DateTime<Utc>,
        stale_after: Option<Duration>,
    ) -> IdempotencyAcquire {
        let fresh = |created_at| IdempotencyRow {
            key: key.into(),
            command_type: command.into(),
            created_at,
            result: in_progress_marker(),
        };
        match self.idempotency_row(key, command).cloned() {
            None => {
                self.set_idempotency(key, command, Some(fresh(now)));
                IdempotencyAcquire::Acquired
            }
            Some(row) if !is_in_progress_marker(&row.result) => {
                IdempotencyAcquire::Replay(row.result)
            }
            Some(row) => {
                let is_stale = stale_after
                    .is_some_and(|after| workflow_core::time::add(row.created_at, after) <= now);
                if is_stale {
                    self.set_idempotency(key, command, Some(fresh(now)));
                    IdempotencyAcquire::Acquired
                } else {
                    IdempotencyAcquire::InProgress
                }
            }
        }
    }

    pub fn complete_idempotency_key(&mut self, key: &str, command: &str, result: &Value) {
        if let Some(mut row) = self.idempotency_row(key, command).cloned() {
            row.result = result.clone();
            self.set_idempotency(key, command, Some(row));
        }
    }

    pub fn put_blobs(&mut self, blobs: Vec<(String, Value)>) {
        for (key, value) in blobs {
            self.set_blob(&key, Some(value));
        }
    }

    pub fn get_blobs(&self, keys: &[String]) -> HashMap<String, Value> {
        keys.iter()
            .filter_map(|key| self.blobs.get(key).map(|v| (key.clone(), v.clone())))
            .collect()
    }

    pub fn list_blobs(&self, prefix: &str) -> Vec<String> {
        self.blobs
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| key.clone())
            .collect()
    }

    pub fn delete_blob_prefix(&mut self, prefix: &str) -> usize {
        let keys = self.list_blobs(prefix);
        for key in &keys {
            self.set_blob(key, None);
        }
        keys.len()
    }
}
