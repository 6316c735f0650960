//! Creating the stage rows and jobs of an execution group.

use super::Kernel;
use super::error::KernelError;
use crate::definition::workflow::WorkflowDefinition;
use crate::ports::{NewJob, NewStage, RunRecord, Session, Status};
use chrono::{DateTime, Utc};
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

impl Kernel {
    /// Creates the rows of a group, and enqueues a job (within `tx`) for every row that is `PENDING`.
    /// Returns the job ids.
    pub(crate) async fn prepare_group(
        &self,
        tx: &mut dyn Session,
        definition: &WorkflowDefinition,
        run: &RunRecord,
        spec: GroupSpec,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, KernelError> {
        let GroupSpec {
            group,
            attempt,
            mode,
        } = spec;
        let mut jobs = Vec::new();
        for node in definition.stages_in_group(group) {
            let stage = NewStage {
                workflow_run_id: run.id.clone(),
                stage_id: node.stage.id().to_owned(),
                stage_name: node.stage.name().to_owned(),
                stage_number: node.stage_number() as i32,
                execution_group: group as i32,
                attempt,
                status: Status::Pending,
                started_at: None,
                config: Some(stage_config(&run.config, node.stage.id())),
            };
            let row = match mode {
                CreateMode::Upsert => tx.insert_stage_if_absent(stage, now).await?,
                CreateMode::Create => tx.create_stage(stage, now).await?,
            };
            if row.status == Status::Pending {
                jobs.push(NewJob {
                    workflow_run_id: run.id.clone(),
                    workflow_id: run.workflow_id.clone(),
                    stage_id: row.stage_id,
                    priority: run.priority,
                    payload: json!({ "config": run.config }),
                });
            }
        }
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.ports().jobs.enqueue(tx, jobs, now).await?)
    }
}
