//! `workflow_stages`.

use super::{SetList, execute, fetch, update_by_id};
use crate::sql::{Arg, SqlConn};
use crate::tables::{self, STAGES};
use chrono::{DateTime, Utc};
use workflow_core::ids::cuid;
use workflow_core::ports::*;

fn insert_sql(conn: &dyn SqlConn, on_conflict: &str) -> String {
    let dialect = conn.dialect();
    format!(
        "INSERT INTO \"workflow_stages\" (\"id\", \"createdAt\", \"updatedAt\", \"version\", \"workflowRunId\", \"stageId\", \
         \"stageName\", \"stageNumber\", \"executionGroup\", \"attempt\", \"status\", \"startedAt\", \"config\") \
         VALUES ($1, $2, $2, 1, $3, $4, $5, $6, $7, $8, {}, $10, $11) {on_conflict}",
        dialect.status(9)
    )
}

fn insert_args(stage: NewStage, now: DateTime<Utc>) -> Vec<Arg> {
    vec![
        Arg::text(cuid()),
        Arg::at(now),
        Arg::text(stage.workflow_run_id),
        Arg::text(stage.stage_id),
        Arg::text(stage.stage_name),
        Arg::Int(Some(stage.stage_number)),
        Arg::Int(Some(stage.execution_group)),
        Arg::Int(Some(stage.attempt)),
        Arg::Status(stage.status),
        Arg::Timestamp(stage.started_at),
        Arg::Json(stage.config),
    ]
}

pub(crate) async fn create(
    conn: &mut dyn SqlConn,
    stage: NewStage,
    now: DateTime<Utc>,
) -> Result<StageRecord, StoreError> {
    let sql = insert_sql(conn, &STAGES.returning(conn.dialect()));
    let rows = fetch(
        conn,
        &STAGES,
        &sql,
        insert_args(stage, now),
        "create a stage row",
    )
    .await?;
    tables::stage(&rows[0])
}

pub(crate) async fn insert_if_absent(
    conn: &mut dyn SqlConn,
    stage: NewStage,
    now: DateTime<Utc>,
) -> Result<StageRecord, StoreError> {
    let (run_id, stage_id) = (stage.workflow_run_id.clone(), stage.stage_id.clone());
    let sql = insert_sql(
        conn,
        "ON CONFLICT (\"workflowRunId\", \"stageId\") DO NOTHING",
    );
    execute(conn, &sql, insert_args(stage, now), "create a stage row").await?;
    get(conn, &run_id, &stage_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: "WorkflowStage",
            id: format!("{run_id}/{stage_id}"),
        })
}

pub(crate) async fn update(
    conn: &mut dyn SqlConn,
    id: &str,
    update: StageUpdate,
    expected: Option<i32>,
    now: DateTime<Utc>,
) -> Result<StageRecord, StoreError> {
    let dialect = conn.dialect();
    let mut set = SetList::new(now, true);
    set.set_status(dialect, update.status);
    set.set("startedAt", update.started_at.map(Arg::Timestamp));
    set.set("completedAt", update.completed_at.map(Arg::Timestamp));
    set.set("duration", update.duration.map(Arg::Int));
    set.set("outputData", update.output_data.map(Arg::Json));
    set.set("suspendedState", update.suspended_state.map(Arg::Json));
    set.set("nextPollAt", update.next_poll_at.map(Arg::Timestamp));
    set.set("pollInterval", update.poll_interval.map(Arg::Int));
    set.set("maxWaitUntil", update.max_wait_until.map(Arg::Timestamp));
    set.set("metrics", update.metrics.map(Arg::Json));
    set.set("embeddingInfo", update.embedding_info.map(Arg::Json));
    set.set("errorMessage", update.error_message.map(Arg::Text));
    update_by_id(
        conn,
        &STAGES,
        "WorkflowStage",
        set,
        id,
        expected,
        tables::stage,
    )
    .await
}

pub(crate) async fn get(
    conn: &mut dyn SqlConn,
    run_id: &str,
    stage_id: &str,
) -> Result<Option<StageRecord>, StoreError> {
    let sql = STAGES.select_from(
        conn.dialect(),
        "WHERE \"workflowRunId\" = $1 AND \"stageId\" = $2",
    );
    let rows = fetch(
        conn,
        &STAGES,
        &sql,
        vec![Arg::text(run_id), Arg::text(stage_id)],
        "read a stage row",
    )
    .await?;
    rows.first().map(|cells| tables::stage(cells)).transpose()
}

pub(crate) async fn by_run(
    conn: &mut dyn SqlConn,
    run_id: &str,
) -> Result<Vec<StageRecord>, StoreError> {
    let sql = STAGES.select_from(
        conn.dialect(),
        "WHERE \"workflowRunId\" = $1 ORDER BY \"executionGroup\" ASC, \"stageNumber\" ASC",
    );
    let rows = fetch(
        conn,
        &STAGES,
        &sql,
        vec![Arg::text(run_id)],
        "read a run's stages",
    )
    .await?;
    tables::all(rows, tables::stage)
}

pub(crate) async fn suspended_due(
    conn: &mut dyn SqlConn,
    before: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<StageRecord>, StoreError> {
    let sql = STAGES.select_from(conn.dialect(), "WHERE \"status\" = 'SUSPENDED' AND \"nextPollAt\" <= $1 ORDER BY \"nextPollAt\" ASC LIMIT $2");
    let rows = fetch(
        conn,
        &STAGES,
        &sql,
        vec![Arg::at(before), Arg::BigInt(limit as i64)],
        "find due suspended stages",
    )
    .await?;
    Ok(tables::all_readable(rows, tables::stage))
}

pub(crate) async fn delete_from_group(
    conn: &mut dyn SqlConn,
    run_id: &str,
    group: i32,
) -> Result<Vec<StageRecord>, StoreError> {
    let sql = format!(
        "DELETE FROM \"workflow_stages\" WHERE \"workflowRunId\" = $1 AND \"executionGroup\" >= $2 {}",
        STAGES.returning(conn.dialect())
    );
    let rows = fetch(
        conn,
        &STAGES,
        &sql,
        vec![Arg::text(run_id), Arg::Int(Some(group))],
        "delete stage rows",
    )
    .await?;
    let mut deleted = tables::all(rows, tables::stage)?;
    deleted.sort_by_key(|s| (s.execution_group, s.stage_number));
    Ok(deleted)
}
