//! The PostgreSQL job claim: one statement claims the jobs, starts their stages and returns them with
//! their run and stage rows.

use super::{D, Prefixed, select_as};
use crate::codec::Ts;
use crate::exec::SqlExecutor;
use crate::exec::failed;
use crate::tables::{Columns, JOBS, RUNS, STAGES};
use chrono::{DateTime, Utc};
use sqlx::Postgres;
use sqlx::postgres::PgRow;
use std::sync::OnceLock;
use workflow_core::ports::*;

/// The run and stage rows of a claimed job (`run.`, `stage.` when the claim started the stage, else
/// `old.`), and whether the stage was started.
fn claimed_rows(row: &PgRow) -> Result<(Option<RunRecord>, Option<StageRecord>, bool), StoreError> {
    let present = |prefix: &'static str| {
        Prefixed(row, prefix)
            .opt_text("id")
            .ok()
            .flatten()
            .is_some()
    };
    let run = present("run.")
        .then(|| crate::tables::run(&Prefixed(row, "run.")))
        .transpose()?;
    let started = present("stage.");
    let stage = if started {
        Some(crate::tables::stage(&Prefixed(row, "stage."))?)
    } else if present("old.") {
        Some(crate::tables::stage(&Prefixed(row, "old."))?)
    } else {
        None
    };
    Ok((run, stage, started))
}

/// The job claim: candidates by priority then age (`SKIP LOCKED`), each taken only when its run's outbox
/// lock (`hashtext(runId)`, the TypeScript engine's) is free or already this transaction's: the claim
/// appends the `stage:started` events, and it may run in the transaction that recorded another run's stage
/// (the hand-off), so it never waits for a second run's lock while holding one (no deadlock). A job
/// passed over stays `PENDING` for the next claim.
pub(crate) fn claim_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "WITH \"picked\" AS ({}), \
             \"claimed\" AS (UPDATE \"job_queue\" j SET \"status\" = 'RUNNING', \"workerId\" = $1, \"lockedAt\" = $2, \"startedAt\" = $2, \
               \"updatedAt\" = $2, \"attempt\" = j.\"attempt\" + 1 FROM \"picked\" p WHERE j.\"id\" = p.\"id\" \
               AND pg_try_advisory_xact_lock(hashtext(j.\"workflowRunId\")) RETURNING j.*), \
             \"started\" AS (UPDATE \"workflow_stages\" s SET \"status\" = 'RUNNING', \"startedAt\" = $2, \"updatedAt\" = $2, \
               \"version\" = s.\"version\" + 1 FROM \"claimed\" c, \"workflow_runs\" r \
               WHERE s.\"workflowRunId\" = c.\"workflowRunId\" AND s.\"stageId\" = c.\"stageId\" AND s.\"status\" <> 'COMPLETED' \
               AND r.\"id\" = c.\"workflowRunId\" AND r.\"status\" = 'RUNNING' RETURNING s.*) \
             SELECT {}, {}, {}, {} FROM \"claimed\" c \
             LEFT JOIN \"workflow_runs\" r ON r.\"id\" = c.\"workflowRunId\" \
             LEFT JOIN \"started\" st ON st.\"workflowRunId\" = c.\"workflowRunId\" AND st.\"stageId\" = c.\"stageId\" \
             LEFT JOIN \"workflow_stages\" s0 ON s0.\"workflowRunId\" = c.\"workflowRunId\" AND s0.\"stageId\" = c.\"stageId\"",
            crate::sql::statements::claim_candidates(D, "\"payload\"->>'_workflowId'", "= ANY($4)"),
            select_as(&JOBS, "c", "job."),
            select_as(&RUNS, "r", "run."),
            select_as(&STAGES, "st", "stage."),
            select_as(&STAGES, "s0", "old."),
        )
    })
}

impl SqlExecutor<Postgres> {
    pub(crate) async fn dialect_claim_jobs(
        &mut self,
        claim: &JobClaim,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<ClaimedJob, UnreadableJob>>, StoreError> {
        let query = sqlx::query(claim_sql())
            .bind(claim.worker_id.clone())
            .bind(Ts(now))
            .bind(claim.limit as i64)
            .bind(claim.workflows.clone());
        let rows = on!(self, write, |e| query.fetch_all(e).await).map_err(failed("claim jobs"))?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let job = match crate::tables::job(&Prefixed(row, "job.")) {
                Ok(job) => job,
                Err(error) => {
                    claimed.push(Err(crate::exec::unreadable(None, error)?));
                    continue;
                }
            };
            self.locked_runs.insert(job.workflow_run_id.clone());
            match claimed_rows(row) {
                Ok((run, stage, started)) => claimed.push(Ok(ClaimedJob {
                    job,
                    run,
                    stage,
                    started,
                })),
                Err(error) => claimed.push(Err(crate::exec::unreadable(Some(&job.id), error)?)),
            }
        }
        crate::exec::order_claimed(&mut claimed);
        Ok(claimed)
    }
}
