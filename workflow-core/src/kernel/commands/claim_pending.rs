//! `run.claimPending`: moves pending runs to `RUNNING` and creates their first group (reference §5.2).
//! The claim, the stage rows and the jobs commit together. Workers run it as soon as a run is created
//! (woken by the commit) and, as a fallback for runs created by other engines, on their maintenance tick.

use crate::ids::{JobId, RunId, WorkflowId};
use crate::kernel::dispatch::{Command, Token};
use crate::kernel::groups::{CreateMode, GroupSpec};
use crate::kernel::unit::UnitOfWork;
use crate::kernel::{Kernel, KernelError};
use crate::ports::{EventKind, NewLog, RunRecord, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Claims up to `max_claims` pending runs, highest priority first, then oldest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunClaimPending {
    /// The claiming worker (recorded in failure outputs).
    pub worker_id: String,
    /// At most this many runs (default 10).
    pub max_claims: Option<usize>,
}

impl RunClaimPending {
    /// Claims up to 10 runs for `worker_id`.
    pub fn new(worker_id: impl Into<String>) -> Self {
        RunClaimPending {
            worker_id: worker_id.into(),
            max_claims: None,
        }
    }
}

/// One claimed run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedRun {
    /// The run that moved from `PENDING` to `RUNNING`.
    pub workflow_run_id: RunId,
    /// The workflow it runs.
    pub workflow_id: WorkflowId,
    /// The jobs of its first group.
    pub job_ids: Vec<JobId>,
}

/// The runs claimed and started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunsClaimed {
    /// Runs now `RUNNING` with their first group enqueued (runs that failed at claim are not listed).
    pub claimed: Vec<ClaimedRun>,
}

/// Fails a just-claimed run with `{ error: { code, message, workerId } }` and an `ERROR` log line.
async fn fail_claimed(
    unit: &mut UnitOfWork<'_>,
    run: &RunRecord,
    code: &str,
    message: String,
    worker_id: &str,
) -> Result<(), KernelError> {
    tracing::warn!(run_id = %run.id, code, %message, "run failed at claim");
    let output = json!({ "error": { "code": code, "message": message, "workerId": worker_id } });
    unit.fail_run(run, message.clone(), Some(output)).await?;
    let log = NewLog {
        workflow_run_id: Some(run.id.clone()),
        workflow_stage_id: None,
        level: crate::definition::record::LogLevel::Error,
        message,
        metadata: Some(json!({ "code": code })),
    };
    unit.tx.create_logs(vec![log], unit.now).await?;
    Ok(())
}

impl RunClaimPending {
    async fn handle(self, unit: &mut UnitOfWork<'_>) -> Result<RunsClaimed, KernelError> {
        let ports = unit.kernel.ports();
        let mut claimed = Vec::new();
        let taken = unit
            .tx
            .claim_pending_runs(self.max_claims.unwrap_or(10), unit.now)
            .await?;
        for run in taken {
            let run = match run {
                Ok(run) => run,
                Err(StoreError::CorruptRow {
                    table: "workflow_runs",
                    row_id,
                    column,
                    message,
                }) => {
                    let message = format!("run row cannot be read: column {column}: {message}");
                    tracing::error!(run_id = %row_id, %message, "quarantining a corrupt run");
                    let output = json!({ "error": { "code": "CORRUPT_ROW", "message": message, "workerId": self.worker_id } });
                    unit.tx.quarantine_run(&row_id, output, unit.now).await?;
                    let failed = unit.event(&row_id, EventKind::WorkflowFailed { error: message });
                    unit.emit(failed);
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let Some(definition) = ports.registry.workflow(&run.workflow_id) else {
                let message = format!("Workflow {} not found in registry", run.workflow_id);
                fail_claimed(unit, &run, "WORKFLOW_NOT_FOUND", message, &self.worker_id).await?;
                continue;
            };
            if definition.stages_in_group(1).is_empty() {
                let message = format!(
                    "Workflow {} has no stages in execution group 1",
                    run.workflow_id
                );
                fail_claimed(unit, &run, "EMPTY_STAGE_GRAPH", message, &self.worker_id).await?;
                continue;
            }
            let spec = GroupSpec {
                group: 1,
                attempt: 0,
                mode: CreateMode::Upsert,
            };
            let started = unit.event(&run.id, EventKind::WorkflowStarted {});
            let job_ids = unit
                .prepare_group(&definition, &run, spec, vec![started])
                .await?;
            tracing::info!(run_id = %run.id, jobs = job_ids.len(), "run claimed");
            claimed.push(ClaimedRun {
                workflow_run_id: run.id,
                workflow_id: run.workflow_id,
                job_ids,
            });
        }
        Ok(RunsClaimed { claimed })
    }
}

impl Command for RunClaimPending {
    type Output = RunsClaimed;
    const TYPE: &'static str = "run.claimPending";

    async fn execute(self, kernel: &Kernel, _: Token) -> Result<RunsClaimed, KernelError> {
        kernel.in_unit(self, Self::handle).await
    }
}
