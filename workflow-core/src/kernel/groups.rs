//! Creating the stage rows and jobs of an execution group.

use super::error::KernelError;
use super::unit::UnitOfWork;
use crate::definition::workflow::StageNode;
use crate::definition::workflow::WorkflowDefinition;
use crate::ids::JobId;
use crate::ports::{
    GroupStart, NewStage, RunRecord, Signal, StageRecord, StageUpdate, Status, WorkflowEvent,
};
use serde_json::{Value, json};

/// Which group to prepare, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupSpec {
    /// 1-based execution group.
    pub group: u32,
    /// The attempt of the new rows.
    pub attempt: i32,
    /// Upsert or create.
    pub mode: CreateMode,
}

/// How rows of the group are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CreateMode {
    /// Keep rows that already exist (an interrupted claim); enqueue only `PENDING` ones.
    Upsert,
    /// Insert fresh rows (rerun).
    Create,
}

/// The stage's entry of the run config, or `{}`.
pub(crate) fn stage_config(run_config: &Value, stage_id: &str) -> Value {
    run_config
        .get(stage_id)
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or_else(|| json!({}))
}

impl UnitOfWork<'_> {
    /// Creates the rows of a group and a job for every row that is `PENDING`, with `events` appended in
    /// the same step. Returns the job ids.
    pub(crate) async fn prepare_group(
        &mut self,
        definition: &WorkflowDefinition,
        run: &RunRecord,
        spec: GroupSpec,
        events: Vec<WorkflowEvent>,
    ) -> Result<Vec<JobId>, KernelError> {
        self.flush_events().await?;
        let stages = definition
            .stages_in_group(spec.group)
            .into_iter()
            .map(|node| NewStage {
                workflow_run_id: run.id.clone(),
                stage_id: node.stage.id().into(),
                stage_name: node.stage.name().to_owned(),
                stage_number: node.stage_number() as i32,
                execution_group: spec.group as i32,
                attempt: spec.attempt,
                status: Status::Pending,
                started_at: None,
                config: Some(stage_config(&run.config, node.stage.id())),
            })
            .collect();
        let start = GroupStart {
            stages,
            if_absent: spec.mode == CreateMode::Upsert,
            workflow_id: run.workflow_id.clone(),
            priority: run.priority,
            payload: json!({ "config": run.config }),
            events: super::outbox::rows(&events, &self.causation),
        };
        let rows = self.tx.start_group(start, self.now).await?;
        let jobs: Vec<JobId> = rows.into_iter().filter_map(|(_, job)| job).collect();
        if !jobs.is_empty() {
            self.signal(Signal::Jobs);
        }
        if !events.is_empty() {
            self.signal(Signal::Events);
        }
        Ok(jobs)
    }
}

impl UnitOfWork<'_> {
    /// Marks the stage row of `node` `RUNNING` (`startedAt` now): `existing`, or a new row in run `run_id`
    /// with `config` (kept as it is if one appeared meanwhile, when `if_absent`).
    pub(crate) async fn start_stage_row(
        &mut self,
        run_id: &str,
        node: &StageNode,
        existing: Option<StageRecord>,
        config: Value,
        if_absent: bool,
    ) -> Result<StageRecord, KernelError> {
        let now = self.now;
        match existing {
            Some(stage) => {
                let update = StageUpdate {
                    status: Some(Status::Running),
                    started_at: Some(Some(now)),
                    ..Default::default()
                };
                Ok(self.tx.update_stage(&stage.id, update, None, now).await?)
            }
            None => {
                let new = NewStage {
                    workflow_run_id: run_id.into(),
                    stage_id: node.stage.id().into(),
                    stage_name: node.stage.name().to_owned(),
                    stage_number: node.stage_number() as i32,
                    execution_group: node.execution_group as i32,
                    attempt: 0,
                    status: Status::Running,
                    started_at: Some(now),
                    config: Some(config),
                };
                Ok(self
                    .tx
                    .insert_stages(vec![new], if_absent, now)
                    .await?
                    .remove(0))
            }
        }
    }
}
