//! Run and stage operations of the in-memory store, written to mirror the SQL stores (same ordering, same
//! guards, same errors).

use super::tables::Tables;
use chrono::{DateTime, Utc};
use serde_json::Value;
use workflow_core::ids::RunId;
use workflow_core::ids::cuid;
use workflow_core::ports::*;

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

/// The row to update, or the error of a guarded update that finds none (or another version).
fn guarded<'a, T>(
    found: Option<&'a T>,
    version: impl Fn(&T) -> i32,
    entity: &'static str,
    id: &str,
    expected: Option<i32>,
) -> Result<&'a T, StoreError> {
    match (found, expected) {
        (Some(row), Some(expected)) if version(row) != expected => {
            Err(stale(entity, id, expected, Some(version(row))))
        }
        (Some(row), _) => Ok(row),
        (None, Some(expected)) => Err(stale(entity, id, expected, None)),
        (None, None) => Err(StoreError::NotFound {
            entity,
            id: id.to_owned(),
        }),
    }
}

impl Tables {
    pub fn create_run(&mut self, run: NewRun, now: DateTime<Utc>) -> RunRecord {
        let record = RunRecord {
            id: cuid().into(),
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
        self.set_run(&record.id.clone(), Some(record.clone()));
        record
    }

    pub fn update_run(
        &mut self,
        id: &str,
        update: RunUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<RunRecord, StoreError> {
        let mut run = guarded(self.run(id), |r| r.version, "WorkflowRun", id, expected)?.clone();
        set(&mut run.status, update.status);
        set(&mut run.started_at, update.started_at);
        set(&mut run.completed_at, update.completed_at);
        set(&mut run.duration, update.duration);
        set(&mut run.output, update.output);
        set(&mut run.total_cost, update.total_cost);
        set(&mut run.total_tokens, update.total_tokens);
        run.version += 1;
        run.updated_at = now;
        self.set_run(id, Some(run.clone()));
        Ok(run)
    }

    pub fn claim_pending_runs(&mut self, limit: usize, now: DateTime<Utc>) -> Vec<RunRecord> {
        let ids: Vec<RunId> = self
            .pending_runs
            .iter()
            .take(limit)
            .map(|(_, _, _, id)| id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| {
                let update = RunUpdate {
                    status: Some(Status::Running),
                    started_at: Some(Some(now)),
                    ..Default::default()
                };
                self.update_run(id, update, None, now).ok()
            })
            .collect()
    }

    pub fn stuck_runs(&self, since: DateTime<Utc>, limit: usize) -> Vec<RunId> {
        let mut runs: Vec<&RunRecord> = self
            .running_runs
            .iter()
            .filter_map(|id| self.run(id))
            .filter(|run| run.updated_at <= since)
            .filter(|run| {
                !self
                    .stages_of_run(&run.id)
                    .iter()
                    .any(|s| s.updated_at > since || s.status == Status::Suspended)
            })
            .filter(|run| {
                !self
                    .jobs_of_run(&run.id)
                    .iter()
                    .any(|j| matches!(j.status, Status::Pending | Status::Running))
            })
            .collect();
        runs.sort_by_key(|run| run.updated_at);
        runs.into_iter().take(limit).map(|r| r.id.clone()).collect()
    }

    fn new_stage(stage: NewStage, now: DateTime<Utc>) -> StageRecord {
        StageRecord {
            id: cuid().into(),
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
        }
    }

    pub fn insert_stages(
        &mut self,
        stages: Vec<NewStage>,
        if_absent: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<StageRecord>, StoreError> {
        let mut rows = Vec::with_capacity(stages.len());
        for stage in stages {
            if self.run(&stage.workflow_run_id).is_none() {
                return Err(StoreError::backend(
                    "create a stage row",
                    format!(
                        "foreign key violated: run {} does not exist",
                        stage.workflow_run_id
                    ),
                ));
            }
            if let Some(existing) = self.stage_by_key(&stage.workflow_run_id, &stage.stage_id) {
                if if_absent {
                    rows.push(existing.clone());
                    continue;
                }
                return Err(StoreError::backend(
                    "create a stage row",
                    format!(
                        "unique constraint (workflowRunId, stageId) violated for {}/{}",
                        stage.workflow_run_id, stage.stage_id
                    ),
                ));
            }
            let record = Self::new_stage(stage, now);
            self.set_stage(&record.id.clone(), Some(record.clone()));
            rows.push(record);
        }
        Ok(rows)
    }

    pub fn update_stage(
        &mut self,
        id: &str,
        update: StageUpdate,
        expected: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<StageRecord, StoreError> {
        let mut stage =
            guarded(self.stage(id), |s| s.version, "WorkflowStage", id, expected)?.clone();
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
        self.set_stage(id, Some(stage.clone()));
        Ok(stage)
    }

    pub fn stages_by_run(&self, run_id: &str) -> Vec<StageRecord> {
        self.stages_of_run(run_id).into_iter().cloned().collect()
    }

    pub fn suspended_due(&self, before: DateTime<Utc>, limit: usize) -> Vec<StageRecord> {
        self.suspended
            .iter()
            .take_while(|(at, _)| *at <= before)
            .take(limit)
            .filter_map(|(_, id)| self.stage(id).cloned())
            .collect()
    }

    pub fn next_suspended_poll(&self) -> Option<DateTime<Utc>> {
        self.suspended.first().map(|(at, _)| *at)
    }

    pub fn delete_stages_from_group(&mut self, run_id: &str, group: i32) -> Vec<StageRecord> {
        let deleted: Vec<StageRecord> = self
            .stages_of_run(run_id)
            .into_iter()
            .filter(|s| s.execution_group >= group)
            .cloned()
            .collect();
        for stage in &deleted {
            // Foreign keys: annotations keep their rows (SET NULL), logs go with their stage (CASCADE).
            self.detach_annotations_of_stage(&stage.id);
            self.remove_logs_of_stage(run_id, &stage.id);
            self.set_stage(&stage.id, None);
        }
        deleted
    }

    pub fn quarantine_run(&mut self, id: &str, output: Value, now: DateTime<Utc>) {
        let update = RunUpdate {
            status: Some(Status::Failed),
            completed_at: Some(Some(now)),
            output: Some(Some(output)),
            ..Default::default()
        };
        let _ = self.update_run(id, update, None, now);
    }
}
