//! The tables of the in-memory store and the row operations on them, written to mirror what the SQL
//! adapters do (same ordering, same guards, same errors).

use crate::ids::cuid;
use crate::ports::jobs::JobRecord;
use crate::ports::persistence::{in_progress_marker, is_in_progress_marker};
use crate::ports::*;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// One stored idempotency key.
#[derive(Clone, Debug)]
pub(crate) struct IdempotencyRow {
    pub key: String,
    pub command_type: String,
    pub created_at: DateTime<Utc>,
    pub result: Value,
}

/// Every table, in insertion order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tables {
    pub runs: Vec<RunRecord>,
    pub stages: Vec<StageRecord>,
    pub logs: Vec<LogRecord>,
    pub annotations: Vec<AnnotationRecord>,
    pub outbox: Vec<OutboxRecord>,
    pub idempotency: Vec<IdempotencyRow>,
    pub jobs: Vec<JobRecord>,
    pub ai_calls: Vec<AiCallRecord>,
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn stale(entity: &'static str, id: &str, expected: i32, actual: Option<i32>) -> StoreError {
    StoreError::StaleVersion {
        entity,
        id: id.to_owned(),
        expected: i64::from(expected),
        actual: actual.map_or(-1, i64::from),
    }
}

impl Tables {
    pub fn create_run(&mut self, run: NewRun, now: DateTime<Utc>) -> RunRecord {
        let record = RunRecord {
            id: cuid(),
            created_at: now,
            updated_at: now,
            version: 1,
            workflow_id: run.workflow_id,
            workflow_name: run.workflow_name,
            workflow_type: run.workflow_type,
            status: Status::Pending,
            started_at: None,
            completed_at: None,
            duration: None,
            input: run.input,
            output: None,
            config: run.config,
            total_cost: 0.0,
            total_tokens: 0,
            priority: run.priority,
            metadata: run.metadata,
        };
        self.runs.push(record.clone());
        record
    }

    pub fn update_run(
        &mut self,
        id: &str,
        update: RunUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        let found = self.runs.iter_mut().find(|run| run.id == id);
        let run = match (found, expected) {
            (Some(run), Some(expected)) if run.version != expected => {
                return Err(stale("WorkflowRun", id, expected, Some(run.version)));
            }
            (Some(run), _) => run,
            (None, Some(expected)) => return Err(stale("WorkflowRun", id, expected, None)),
            (None, None) => {
                return Err(StoreError::NotFound {
                    entity: "WorkflowRun",
                    id: id.to_owned(),
                });
            }
        };
        set(&mut run.status, update.status);
        set(&mut run.started_at, update.started_at);
        set(&mut run.completed_at, update.completed_at);
        set(&mut run.duration, update.duration);
        set(&mut run.output, update.output);
        set(&mut run.total_cost, update.total_cost);
        set(&mut run.total_tokens, update.total_tokens);
        run.version += 1;
        run.updated_at = now;
        Ok(run.clone())
    }

    pub fn claim_next_pending_run(&mut self, now: DateTime<Utc>) -> Option<RunRecord> {
        let index = self
            .runs
            .iter()
            .enumerate()
            .filter(|(_, run)| run.status == Status::Pending)
            .min_by(|(ia, a), (ib, b)| {
                b.priority
                    .cmp(&a.priority)
                    .then(a.created_at.cmp(&b.created_at))
                    .then(ia.cmp(ib))
            })
            .map(|(index, _)| index)?;
        let run = &mut self.runs[index];
        run.status = Status::Running;
        run.started_at = Some(now);
        run.updated_at = now;
        run.version += 1;
        Some(run.clone())
    }

    pub fn stuck_runs(&self, since: DateTime<Utc>) -> Vec<RunRecord> {
        let mut runs: Vec<RunRecord> = self
            .runs
            .iter()
            .filter(|run| run.status == Status::Running && run.updated_at <= since)
            .filter(|run| {
                !self
                    .stages
                    .iter()
                    .any(|s| s.workflow_run_id == run.id && s.updated_at > since)
            })
            .cloned()
            .collect();
        runs.sort_by_key(|run| run.updated_at);
        runs
    }

    pub fn list_runs(&self, filter: &RunFilter) -> Vec<RunRecord> {
        let mut runs: Vec<RunRecord> = self
            .runs
            .iter()
            .filter(|run| filter.status.is_none_or(|s| run.status == s))
            .filter(|run| {
                filter
                    .workflow_id
                    .as_deref()
                    .is_none_or(|w| run.workflow_id == w)
            })
            .cloned()
            .collect();
        runs.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        runs.truncate(filter.limit.unwrap_or(100));
        runs
    }

    pub fn create_stage(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        if self
            .stages
            .iter()
            .any(|s| s.workflow_run_id == stage.workflow_run_id && s.stage_id == stage.stage_id)
        {
            return Err(StoreError::backend(
                "create_stage",
                format!(
                    "unique constraint (workflowRunId, stageId) violated for {}/{}",
                    stage.workflow_run_id, stage.stage_id
                ),
            ));
        }
        let record = StageRecord {
            id: cuid(),
            created_at: now,
            updated_at: now,
            version: 1,
            workflow_run_id: stage.workflow_run_id,
            stage_id: stage.stage_id,
            stage_name: stage.stage_name,
            stage_number: stage.stage_number,
            execution_group: stage.execution_group,
            attempt: stage.attempt,
            status: stage.status,
            started_at: stage.started_at,
            completed_at: None,
            duration: None,
            input_data: None,
            output_data: None,
            config: stage.config,
            suspended_state: None,
            resume_data: None,
            next_poll_at: None,
            poll_interval: None,
            max_wait_until: None,
            metrics: None,
            embedding_info: None,
            error_message: None,
        };
        self.stages.push(record.clone());
        Ok(record)
    }

    pub fn insert_stage_if_absent(
        &mut self,
        stage: NewStage,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        match self
            .stages
            .iter()
            .find(|s| s.workflow_run_id == stage.workflow_run_id && s.stage_id == stage.stage_id)
        {
            Some(existing) => Ok(existing.clone()),
            None => self.create_stage(stage, now),
        }
    }

    pub fn update_stage(
        &mut self,
        id: &str,
        update: StageUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        let found = self.stages.iter_mut().find(|stage| stage.id == id);
        let stage = match (found, expected) {
            (Some(stage), Some(expected)) if stage.version != expected => {
                return Err(stale("WorkflowStage", id, expected, Some(stage.version)));
            }
            (Some(stage), _) => stage,
            (None, Some(expected)) => return Err(stale("WorkflowStage", id, expected, None)),
            (None, None) => {
                return Err(StoreError::NotFound {
                    entity: "WorkflowStage",
                    id: id.to_owned(),
                });
            }
        };
        set(&mut stage.status, update.status);
        set(&mut stage.started_at, update.started_at);
        set(&mut stage.completed_at, update.completed_at);
        set(&mut stage.duration, update.duration);
        set(&mut stage.output_data, update.output_data);
        set(&mut stage.suspended_state, update.suspended_state);
        set(&mut stage.next_poll_at, update.next_poll_at);
        set(&mut stage.poll_interval, update.poll_interval);
        set(&mut stage.max_wait_until, update.max_wait_until);
        set(&mut stage.metrics, update.metrics);
        set(&mut stage.embedding_info, update.embedding_info);
        set(&mut stage.error_message, update.error_message);
        stage.version += 1;
        stage.updated_at = now;
        Ok(stage.clone())
    }

    pub fn stages_by_run(&self, run_id: &str) -> Vec<StageRecord> {
        let mut stages: Vec<StageRecord> = self
            .stages
            .iter()
            .filter(|s| s.workflow_run_id == run_id)
            .cloned()
            .collect();
        stages.sort_by_key(|s| (s.execution_group, s.stage_number));
        stages
    }

    pub fn delete_stages_from_group(&mut self, run_id: &str, group: i32) -> Vec<StageRecord> {
        let (deleted, kept): (Vec<_>, Vec<_>) = self
            .stages
            .drain(..)
            .partition(|s| s.workflow_run_id == run_id && s.execution_group >= group);
        self.stages = kept;
        let ids: Vec<&str> = deleted.iter().map(|s| s.id.as_str()).collect();
        // Foreign keys: annotations keep their rows (SET NULL), logs go with their stage (CASCADE).
        for annotation in &mut self.annotations {
            if annotation
                .workflow_stage_record_id
                .as_deref()
                .is_some_and(|id| ids.contains(&id))
            {
                annotation.workflow_stage_record_id = None;
            }
        }
        self.logs.retain(|log| {
            !log.workflow_stage_id
                .as_deref()
                .is_some_and(|id| ids.contains(&id))
        });
        let mut deleted = deleted;
        deleted.sort_by_key(|s| (s.execution_group, s.stage_number));
        deleted
    }

    pub fn append_annotations(&mut self, rows: Vec<NewAnnotation>, now: DateTime<Utc>) -> usize {
        let mut inserted = 0;
        for row in rows {
            let duplicate = row.idempotency_key.is_some()
                && self.annotations.iter().any(|a| {
                    a.workflow_run_id == row.workflow_run_id
                        && a.key == row.key
                        && a.idempotency_key == row.idempotency_key
                });
            if duplicate {
                continue;
            }
            self.annotations.push(AnnotationRecord {
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
            .annotations
            .iter()
            .filter(|a| a.workflow_run_id == run_id && filter.matches(a))
            .cloned()
            .collect();
        rows.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        rows.truncate(filter.limit.unwrap_or(crate::kernel::DEFAULT_LIST_LIMIT));
        rows
    }

    pub fn append_outbox(&mut self, run_id: &str, events: Vec<NewOutboxEvent>, now: DateTime<Utc>) {
        let last = self
            .outbox
            .iter()
            .filter(|e| e.workflow_run_id == run_id)
            .map(|e| e.sequence)
            .max()
            .unwrap_or(0);
        for (sequence, event) in (last + 1..).zip(events) {
            self.outbox.push(OutboxRecord {
                id: cuid(),
                created_at: now,
                workflow_run_id: run_id.to_owned(),
                sequence,
                event_type: event.event_type,
                payload: event.payload,
                causation_id: event.causation_id,
                occurred_at: event.occurred_at,
                published_at: None,
                retry_count: 0,
                dlq_at: None,
            });
        }
    }

    pub fn unpublished_outbox(&self, limit: usize) -> Vec<OutboxRecord> {
        let mut rows: Vec<OutboxRecord> = self
            .outbox
            .iter()
            .filter(|e| e.published_at.is_none() && e.dlq_at.is_none())
            .cloned()
            .collect();
        rows.sort_by(|a, b| {
            a.workflow_run_id
                .cmp(&b.workflow_run_id)
                .then(a.sequence.cmp(&b.sequence))
        });
        rows.truncate(limit);
        rows
    }

    pub fn outbox_row(&mut self, id: &str) -> Result<&mut OutboxRecord, StoreError> {
        self.outbox
            .iter_mut()
            .find(|e| e.id == id)
            .ok_or_else(|| StoreError::NotFound {
                entity: "OutboxEvent",
                id: id.to_owned(),
            })
    }

    pub fn replay_dlq(&mut self, limit: usize) -> usize {
        let mut replayed = 0;
        for event in self
            .outbox
            .iter_mut()
            .filter(|e| e.dlq_at.is_some())
            .take(limit)
        {
            event.dlq_at = None;
            event.retry_count = 0;
            replayed += 1;
        }
        replayed
    }

    pub fn acquire_idempotency_key(
        &mut self,
        key: &str,
        command: &str,
        now: DateTime<Utc>,
        stale_after: Option<Duration>,
    ) -> IdempotencyAcquire {
        match self
            .idempotency
            .iter_mut()
            .find(|row| row.key == key && row.command_type == command)
        {
            None => {
                self.idempotency.push(IdempotencyRow {
                    key: key.into(),
                    command_type: command.into(),
                    created_at: now,
                    result: in_progress_marker(),
                });
                IdempotencyAcquire::Acquired
            }
            Some(row) if !is_in_progress_marker(&row.result) => {
                IdempotencyAcquire::Replay(row.result.clone())
            }
            Some(row) => {
                let is_stale =
                    stale_after.is_some_and(|after| crate::time::add(row.created_at, after) <= now);
                if is_stale {
                    row.created_at = now;
                    IdempotencyAcquire::Acquired
                } else {
                    IdempotencyAcquire::InProgress
                }
            }
        }
    }
}
