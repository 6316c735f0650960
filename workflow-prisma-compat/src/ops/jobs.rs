//! `job_queue`. The workflow id travels in `payload._workflowId`, as the Prisma job queue stores it.

use super::{execute, fetch};
use crate::sql::{Arg, Dialect, Kind, SqlConn};
use crate::tables::{self, JOBS};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;
use workflow_core::ids::cuid;
use workflow_core::ports::jobs::{JobLease, JobRecord, NewJob, SuspendedJobEnd};
use workflow_core::ports::{Status, StoreError};

/// The channel PostgreSQL workers `LISTEN` on for new jobs.
pub(crate) const JOBS_CHANNEL: &str = "workflow_jobs";

pub(crate) async fn enqueue(
    conn: &mut dyn SqlConn,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let sql = "INSERT INTO \"job_queue\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"stageId\", \"status\", \"priority\", \
               \"attempt\", \"payload\") VALUES ($1, $2, $2, $3, $4, 'PENDING', $5, 0, $6)";
    let mut ids = Vec::with_capacity(jobs.len());
    for job in jobs {
        let mut payload = match job.payload {
            Value::Object(map) => map,
            other => [("value".to_owned(), other)].into_iter().collect(),
        };
        payload.insert("_workflowId".into(), Value::String(job.workflow_id));
        let id = cuid();
        let args = vec![
            Arg::text(id.clone()),
            Arg::at(now),
            Arg::text(job.workflow_run_id),
            Arg::text(job.stage_id),
            Arg::Int(Some(job.priority)),
            Arg::Json(Some(Value::Object(payload))),
        ];
        execute(conn, sql, args, "enqueue a job").await?;
        ids.push(id);
    }
    if conn.dialect() == Dialect::Postgres && !ids.is_empty() {
        // Delivered when the enclosing transaction commits.
        execute(
            conn,
            "SELECT pg_notify($1, '')",
            vec![Arg::text(JOBS_CHANNEL)],
            "notify workers",
        )
        .await?;
    }
    Ok(ids)
}

/// The claim statement (`$1` worker, `$2` now, `$3` limit).
pub(crate) fn dequeue_sql(dialect: Dialect) -> String {
    format!(
        "UPDATE \"job_queue\" SET \"status\" = 'RUNNING', \"workerId\" = $1, \"lockedAt\" = $2, \"startedAt\" = $2, \"updatedAt\" = $2, \
         \"attempt\" = \"attempt\" + 1 WHERE \"id\" IN (SELECT \"id\" FROM \"job_queue\" WHERE \"status\" = 'PENDING' \
         AND (\"nextPollAt\" IS NULL OR \"nextPollAt\" <= $2) ORDER BY \"priority\" DESC, \"createdAt\" ASC LIMIT $3{}) {}",
        dialect.skip_locked(),
        JOBS.returning(dialect)
    )
}

/// Leases up to `limit` claimable jobs: `PENDING` and due, by priority then age.
pub(crate) async fn dequeue(
    conn: &mut dyn SqlConn,
    worker_id: &str,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Result<JobRecord, StoreError>>, StoreError> {
    let sql = dequeue_sql(conn.dialect());
    let args = vec![
        Arg::text(worker_id),
        Arg::at(now),
        Arg::BigInt(limit as i64),
    ];
    let rows = fetch(conn, &JOBS, &sql, args, "dequeue jobs").await?;
    let mut jobs: Vec<Result<JobRecord, StoreError>> =
        rows.iter().map(|cells| tables::job(cells)).collect();
    jobs.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => b
            .priority
            .cmp(&a.priority)
            .then(a.created_at.cmp(&b.created_at))
            .then_with(|| a.id.cmp(&b.id)),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
    Ok(jobs)
}

/// Fails a job that cannot be read, without reading it back.
pub(crate) async fn quarantine(
    conn: &mut dyn SqlConn,
    id: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let sql = "UPDATE \"job_queue\" SET \"status\" = 'FAILED', \"lastError\" = $2, \"completedAt\" = $3, \"updatedAt\" = $3 WHERE \"id\" = $1";
    execute(
        conn,
        sql,
        vec![Arg::text(id), Arg::text(error), Arg::at(now)],
        "quarantine a job",
    )
    .await
    .map(drop)
}

const HELD: &str = "\"id\" = $1 AND \"status\" = 'RUNNING' AND \"attempt\" = $2";

fn lease_args(lease: &JobLease) -> Vec<Arg> {
    vec![Arg::text(&lease.job_id), Arg::Int(Some(lease.attempt))]
}

pub(crate) async fn complete(
    conn: &mut dyn SqlConn,
    lease: &JobLease,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE \"job_queue\" SET \"status\" = 'COMPLETED', \"completedAt\" = $3, \"updatedAt\" = $3 WHERE {HELD}"
    );
    let mut args = lease_args(lease);
    args.push(Arg::at(now));
    Ok(execute(conn, &sql, args, "complete a job").await? == 1)
}

pub(crate) async fn suspend(
    conn: &mut dyn SqlConn,
    lease: &JobLease,
    next_poll_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = format!(
        "UPDATE \"job_queue\" SET \"status\" = 'SUSPENDED', \"nextPollAt\" = $3, \"workerId\" = NULL, \"lockedAt\" = NULL, \
         \"updatedAt\" = $4 WHERE {HELD}"
    );
    let mut args = lease_args(lease);
    args.extend([Arg::at(next_poll_at), Arg::at(now)]);
    Ok(execute(conn, &sql, args, "suspend a job").await? == 1)
}

pub(crate) async fn fail(
    conn: &mut dyn SqlConn,
    lease: &JobLease,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<Status>, StoreError> {
    let read = format!(
        "SELECT \"maxAttempts\" FROM \"job_queue\" WHERE {HELD}{}",
        conn.dialect().for_update()
    );
    let rows = conn
        .query(&read, lease_args(lease), &[Kind::Int])
        .await
        .map_err(crate::sql::backend("read a job"))?;
    let Some(crate::sql::Cell::Int(max_attempts)) = rows.first().map(|cells| cells[0].clone())
    else {
        return Ok(None);
    };
    let mut args = lease_args(lease);
    let (sql, status) = match retry_at {
        Some(at) if i64::from(lease.attempt) < max_attempts => {
            args.extend([Arg::text(error), Arg::at(at), Arg::at(now)]);
            let sql = format!(
                "UPDATE \"job_queue\" SET \"status\" = 'PENDING', \"lastError\" = $3, \"nextPollAt\" = $4, \"workerId\" = NULL, \
                 \"lockedAt\" = NULL, \"updatedAt\" = $5 WHERE {HELD}"
            );
            (sql, Status::Pending)
        }
        _ => {
            args.extend([Arg::text(error), Arg::at(now)]);
            let sql = format!(
                "UPDATE \"job_queue\" SET \"status\" = 'FAILED', \"lastError\" = $3, \"completedAt\" = $4, \"updatedAt\" = $4 WHERE {HELD}"
            );
            (sql, Status::Failed)
        }
    };
    Ok((execute(conn, &sql, args, "fail a job").await? == 1).then_some(status))
}

pub(crate) async fn touch(
    conn: &mut dyn SqlConn,
    lease: &JobLease,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let sql = format!("UPDATE \"job_queue\" SET \"lockedAt\" = $3 WHERE {HELD}");
    let mut args = lease_args(lease);
    args.push(Arg::at(now));
    Ok(execute(conn, &sql, args, "refresh a job lease").await? == 1)
}

pub(crate) async fn release_stale(
    conn: &mut dyn SqlConn,
    threshold: Duration,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let sql = "UPDATE \"job_queue\" SET \"status\" = 'PENDING', \"workerId\" = NULL, \"lockedAt\" = NULL, \"updatedAt\" = $1 \
               WHERE \"status\" = 'RUNNING' AND \"lockedAt\" < $2";
    let cutoff = workflow_core::time::sub(now, threshold);
    Ok(execute(
        conn,
        sql,
        vec![Arg::at(now), Arg::at(cutoff)],
        "release stale leases",
    )
    .await? as usize)
}

pub(crate) async fn cancel_by_run(
    conn: &mut dyn SqlConn,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let sql = "UPDATE \"job_queue\" SET \"status\" = 'CANCELLED', \"updatedAt\" = $2 \
               WHERE \"workflowRunId\" = $1 AND \"status\" IN ('PENDING', 'SUSPENDED')";
    Ok(execute(
        conn,
        sql,
        vec![Arg::text(run_id), Arg::at(now)],
        "cancel a run's jobs",
    )
    .await? as usize)
}

pub(crate) async fn by_run(
    conn: &mut dyn SqlConn,
    run_id: &str,
) -> Result<Vec<JobRecord>, StoreError> {
    let sql = JOBS.select_from(
        conn.dialect(),
        "WHERE \"workflowRunId\" = $1 ORDER BY \"createdAt\" ASC, \"id\" ASC",
    );
    let rows = fetch(
        conn,
        &JOBS,
        &sql,
        vec![Arg::text(run_id)],
        "read a run's jobs",
    )
    .await?;
    tables::all(rows, tables::job)
}

pub(crate) async fn check_lease(
    conn: &mut dyn SqlConn,
    lease: &JobLease,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT \"id\" FROM \"job_queue\" WHERE {HELD}{}",
        conn.dialect().for_update()
    );
    let rows = conn
        .query(&sql, lease_args(lease), &[Kind::Text])
        .await
        .map_err(crate::sql::backend("check a job lease"))?;
    Ok(!rows.is_empty())
}

pub(crate) async fn settle_suspended(
    conn: &mut dyn SqlConn,
    run_id: &str,
    stage_id: &str,
    end: SuspendedJobEnd,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut args = vec![Arg::text(run_id), Arg::text(stage_id), Arg::at(now)];
    let set = match end {
        SuspendedJobEnd::Completed => "\"status\" = 'COMPLETED', \"completedAt\" = $3",
        SuspendedJobEnd::Cancelled => "\"status\" = 'CANCELLED'",
        SuspendedJobEnd::Failed(error) => {
            args.push(Arg::text(error));
            "\"status\" = 'FAILED', \"completedAt\" = $3, \"lastError\" = $4"
        }
    };
    let sql = format!(
        "UPDATE \"job_queue\" SET {set}, \"updatedAt\" = $3 WHERE \"workflowRunId\" = $1 AND \"stageId\" = $2 AND \"status\" = 'SUSPENDED'"
    );
    Ok(execute(conn, &sql, args, "settle a suspended job").await? as usize)
}
