//! `run.claimPending`: moves pending runs to `RUNNING` and creates their first group (reference §5.2).
//! The claim, the stage rows and the jobs commit together.

use crate::kernel::dispatch::{Command, Idempotency, Token};
use crate::kernel::groups::{CreateMode, GroupSpec};
use crate::kernel::{Kernel, KernelError};
use crate::ports::{
    EventKind, NewLog, RunRecord, RunUpdate, Session, Status, StoreError, WorkflowEvent,
};
use chrono::{DateTime, Utc};
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
    /// The run.
    pub workflow_run_id: String,
    /// Its workflow.
    pub workflow_id: String,
    /// The jobs of its first group.
    pub job_ids: Vec<String>,
}

/// The runs claimed and started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunsClaimed {
    /// Runs now `RUNNING` with their first group enqueued (runs that failed at claim are not listed).
    pub claimed: Vec<ClaimedRun>,
}

/// Fails a just-claimed run with `{ error: { code, message, workerId } }`.
async fn fail_claimed(
    tx: &mut dyn Session,
    run: &RunRecord,
    code: &str,
    message: String,
    worker_id: &str,
    now: DateTime<Utc>,
    events: &mut Vec<WorkflowEvent>,
) -> Result<(), KernelError> {
    tracing::warn!(run_id = %run.id, code, %message, "run failed at claim");
    let update = RunUpdate {
        status: Some(Status::Failed),
        completed_at: Some(Some(now)),
        output: Some(Some(
            json!({ "error": { "code": code, "message": message, "workerId": worker_id } }),
        )),
        ..Default::default()
    };
    tx.update_run(&run.id, update, None, now).await?;
    tx.create_log(
        NewLog {
            workflow_run_id: Some(run.id.clone()),
            workflow_stage_id: None,
            level: "ERROR".into(),
            message: message.clone(),
            metadata: Some(json!({ "code": code })),
        },
        now,
    )
    .await?;
    events.push(WorkflowEvent {
        kind: EventKind::WorkflowFailed { error: message },
        timestamp: now,
        workflow_run_id: run.id.clone(),
    });
    Ok(())
}

impl Command for RunClaimPending {
    type Output = RunsClaimed;
    const TYPE: &'static str = "run.claimPending";

    async fn handle(
        self,
        kernel: &Kernel,
        idempotency: Option<&Idempotency>,
        _: Token,
    ) -> Result<RunsClaimed, KernelError> {
        let ports = kernel.ports();
        let now = ports.clock.now();
        let mut tx = ports.persistence.begin().await?;
        let mut events = Vec::new();
        let mut claimed = Vec::new();
        for _ in 0..self.max_claims.unwrap_or(10) {
            let run = match tx.claim_next_pending_run(now).await {
                Ok(Some(run)) => run,
                Ok(None) => break,
                Err(StoreError::CorruptRow {
                    table: "workflow_runs",
                    row_id,
                    column,
                    message,
                }) => {
                    let message = format!("run row cannot be read: column {column}: {message}");
                    tracing::error!(run_id = %row_id, %message, "quarantining a corrupt run");
                    let output = json!({ "error": { "code": "CORRUPT_ROW", "message": message, "workerId": self.worker_id } });
                    tx.quarantine_run(&row_id, output, now).await?;
                    events.push(WorkflowEvent {
                        kind: EventKind::WorkflowFailed { error: message },
                        timestamp: now,
                        workflow_run_id: row_id,
                    });
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let Some(definition) = ports.registry.workflow(&run.workflow_id) else {
                let message = format!("Workflow {} not found in registry", run.workflow_id);
                fail_claimed(
                    &mut *tx,
                    &run,
                    "WORKFLOW_NOT_FOUND",
                    message,
                    &self.worker_id,
                    now,
                    &mut events,
                )
                .await?;
                continue;
            };
            if definition.stages_in_group(1).is_empty() {
                let message = format!(
                    "Workflow {} has no stages in execution group 1",
                    run.workflow_id
                );
                fail_claimed(
                    &mut *tx,
                    &run,
                    "EMPTY_STAGE_GRAPH",
                    message,
                    &self.worker_id,
                    now,
                    &mut events,
                )
                .await?;
                continue;
            }
            match kernel
                .prepare_group(
                    &mut *tx,
                    &definition,
                    &run,
                    GroupSpec {
                        group: 1,
                        attempt: 0,
                        mode: CreateMode::Upsert,
                    },
                    now,
                )
                .await
            {
                Ok(job_ids) => {
                    events.push(WorkflowEvent {
                        kind: EventKind::WorkflowStarted {},
                        timestamp: now,
                        workflow_run_id: run.id.clone(),
                    });
                    tracing::info!(run_id = %run.id, jobs = job_ids.len(), "run claimed");
                    claimed.push(ClaimedRun {
                        workflow_run_id: run.id,
                        workflow_id: run.workflow_id,
                        job_ids,
                    });
                }
                Err(KernelError::Store(error)) => return Err(error.into()),
                Err(error) => {
                    fail_claimed(
                        &mut *tx,
                        &run,
                        "CLAIM_FAILED",
                        error.to_string(),
                        &self.worker_id,
                        now,
                        &mut events,
                    )
                    .await?;
                }
            }
        }
        let output = RunsClaimed { claimed };
        kernel
            .commit::<()>(tx, &events, &Kernel::causation_id(idempotency), None)
            .await?;
        if !output.claimed.is_empty() {
            ports.jobs.notify_enqueued();
        }
        Ok(output)
    }
}
