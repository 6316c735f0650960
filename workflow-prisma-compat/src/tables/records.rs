//! Column lists of every table and the decoding of their rows.

use super::{RowReader, Table};
use crate::sql::{Cell, Kind};
use workflow_core::ports::jobs::JobRecord;
use workflow_core::ports::*;

use Kind::{Float, Int, Json, Status as St, Text, Timestamp as Ts};

pub(crate) const RUNS: Table = Table {
    name: "workflow_runs",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("updatedAt", Ts),
        ("version", Int),
        ("workflowId", Text),
        ("workflowName", Text),
        ("workflowType", Text),
        ("status", St),
        ("startedAt", Ts),
        ("completedAt", Ts),
        ("duration", Int),
        ("input", Json),
        ("output", Json),
        ("config", Json),
        ("totalCost", Float),
        ("totalTokens", Int),
        ("priority", Int),
        ("metadata", Json),
    ],
};

pub(crate) const STAGES: Table = Table {
    name: "workflow_stages",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("updatedAt", Ts),
        ("version", Int),
        ("workflowRunId", Text),
        ("stageId", Text),
        ("stageName", Text),
        ("stageNumber", Int),
        ("executionGroup", Int),
        ("attempt", Int),
        ("status", St),
        ("startedAt", Ts),
        ("completedAt", Ts),
        ("duration", Int),
        ("inputData", Json),
        ("outputData", Json),
        ("config", Json),
        ("suspendedState", Json),
        ("resumeData", Json),
        ("nextPollAt", Ts),
        ("pollInterval", Int),
        ("maxWaitUntil", Ts),
        ("metrics", Json),
        ("embeddingInfo", Json),
        ("errorMessage", Text),
    ],
};

pub(crate) const LOGS: Table = Table {
    name: "workflow_logs",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("workflowRunId", Text),
        ("workflowStageId", Text),
        ("level", Text),
        ("message", Text),
        ("metadata", Json),
    ],
};

pub(crate) const ANNOTATIONS: Table = Table {
    name: "workflow_annotations",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("workflowRunId", Text),
        ("workflowStageRecordId", Text),
        ("attempt", Int),
        ("scope", Text),
        ("scopeId", Text),
        ("actorKind", Text),
        ("actorId", Text),
        ("actorVersion", Text),
        ("key", Text),
        ("value", Json),
        ("payload", Json),
        ("idempotencyKey", Text),
    ],
};

pub(crate) const OUTBOX: Table = Table {
    name: "outbox_events",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("workflowRunId", Text),
        ("sequence", Int),
        ("eventType", Text),
        ("payload", Json),
        ("causationId", Text),
        ("occurredAt", Ts),
        ("publishedAt", Ts),
        ("retryCount", Int),
        ("dlqAt", Ts),
    ],
};

pub(crate) const JOBS: Table = Table {
    name: "job_queue",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("updatedAt", Ts),
        ("workflowRunId", Text),
        ("stageId", Text),
        ("status", St),
        ("priority", Int),
        ("attempt", Int),
        ("maxAttempts", Int),
        ("workerId", Text),
        ("lockedAt", Ts),
        ("startedAt", Ts),
        ("completedAt", Ts),
        ("nextPollAt", Ts),
        ("payload", Json),
        ("lastError", Text),
    ],
};

pub(crate) const AI_CALLS: Table = Table {
    name: "ai_calls",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("topic", Text),
        ("callType", Text),
        ("modelKey", Text),
        ("modelId", Text),
        ("prompt", Text),
        ("response", Text),
        ("inputTokens", Int),
        ("outputTokens", Int),
        ("cost", Float),
        ("metadata", Json),
    ],
};

pub(crate) const IDEMPOTENCY: Table = Table {
    name: "idempotency_keys",
    columns: &[
        ("id", Text),
        ("createdAt", Ts),
        ("key", Text),
        ("commandType", Text),
        ("result", Json),
    ],
};

pub(crate) fn run(cells: &[Cell]) -> Result<RunRecord, StoreError> {
    let r = RowReader::new(&RUNS, cells);
    Ok(RunRecord {
        id: r.text("id")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
        version: r.int("version")?,
        workflow_id: r.text("workflowId")?,
        workflow_name: r.text("workflowName")?,
        workflow_type: r.text("workflowType")?,
        status: r.status("status")?,
        started_at: r.opt_timestamp("startedAt")?,
        completed_at: r.opt_timestamp("completedAt")?,
        duration: r.opt_int("duration")?,
        input: r.json("input")?,
        output: r.opt_json("output")?,
        config: r.json("config")?,
        total_cost: r.float("totalCost")?,
        total_tokens: r.int("totalTokens")?,
        priority: r.int("priority")?,
        metadata: r.opt_json("metadata")?,
    })
}

pub(crate) fn stage(cells: &[Cell]) -> Result<StageRecord, StoreError> {
    let r = RowReader::new(&STAGES, cells);
    Ok(StageRecord {
        id: r.text("id")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
        version: r.int("version")?,
        workflow_run_id: r.text("workflowRunId")?,
        stage_id: r.text("stageId")?,
        stage_name: r.text("stageName")?,
        stage_number: r.int("stageNumber")?,
        execution_group: r.int("executionGroup")?,
        attempt: r.int("attempt")?,
        status: r.status("status")?,
        started_at: r.opt_timestamp("startedAt")?,
        completed_at: r.opt_timestamp("completedAt")?,
        duration: r.opt_int("duration")?,
        input_data: r.opt_json("inputData")?,
        output_data: r.opt_json("outputData")?,
        config: r.opt_json("config")?,
        suspended_state: r.opt_json("suspendedState")?,
        resume_data: r.opt_json("resumeData")?,
        next_poll_at: r.opt_timestamp("nextPollAt")?,
        poll_interval: r.opt_int("pollInterval")?,
        max_wait_until: r.opt_timestamp("maxWaitUntil")?,
        metrics: r.opt_json("metrics")?,
        embedding_info: r.opt_json("embeddingInfo")?,
        error_message: r.opt_text("errorMessage")?,
    })
}

pub(crate) fn log(cells: &[Cell]) -> Result<LogRecord, StoreError> {
    let r = RowReader::new(&LOGS, cells);
    Ok(LogRecord {
        id: r.text("id")?,
        created_at: r.timestamp("createdAt")?,
        workflow_run_id: r.opt_text("workflowRunId")?,
        workflow_stage_id: r.opt_text("workflowStageId")?,
        level: r.text("level")?,
        message: r.text("message")?,
        metadata: r.opt_json("metadata")?,
    })
}

pub(crate) fn annotation(cells: &[Cell]) -> Result<AnnotationRecord, StoreError> {
    let r = RowReader::new(&ANNOTATIONS, cells);
    Ok(AnnotationRecord {
        id: r.text("id")?,
        created_at: r.timestamp("createdAt")?,
        workflow_run_id: r.text("workflowRunId")?,
        workflow_stage_record_id: r.opt_text("workflowStageRecordId")?,
        attempt: r.int("attempt")?,
        scope: r.text("scope")?,
        scope_id: r.opt_text("scopeId")?,
        actor_kind: r.opt_text("actorKind")?,
        actor_id: r.opt_text("actorId")?,
        actor_version: r.opt_text("actorVersion")?,
        key: r.text("key")?,
        value: r.json("value")?,
        payload: r.opt_json("payload")?,
        idempotency_key: r.opt_text("idempotencyKey")?,
    })
}

pub(crate) fn outbox(cells: &[Cell]) -> Result<OutboxRecord, StoreError> {
    let r = RowReader::new(&OUTBOX, cells);
    Ok(OutboxRecord {
        id: r.text("id")?,
        created_at: r.timestamp("createdAt")?,
        workflow_run_id: r.text("workflowRunId")?,
        sequence: r.int("sequence")?,
        event_type: r.text("eventType")?,
        payload: r.json("payload")?,
        causation_id: r.text("causationId")?,
        occurred_at: r.timestamp("occurredAt")?,
        published_at: r.opt_timestamp("publishedAt")?,
        retry_count: r.int("retryCount")?,
        dlq_at: r.opt_timestamp("dlqAt")?,
    })
}

/// A job row; `workflowId` is split out of `payload._workflowId`, as the Prisma job queue stores it.
pub(crate) fn job(cells: &[Cell]) -> Result<JobRecord, StoreError> {
    let r = RowReader::new(&JOBS, cells);
    let mut payload = r
        .opt_json("payload")?
        .unwrap_or_else(|| serde_json::json!({}));
    let workflow_id = payload
        .as_object_mut()
        .and_then(|map| map.remove("_workflowId"))
        .and_then(|id| id.as_str().map(str::to_owned))
        .ok_or_else(|| StoreError::CorruptRow {
            table: JOBS.name,
            row_id: r.id().to_owned(),
            column: "payload",
            message: "the payload has no _workflowId".into(),
        })?;
    Ok(JobRecord {
        id: r.text("id")?,
        created_at: r.timestamp("createdAt")?,
        updated_at: r.timestamp("updatedAt")?,
        workflow_run_id: r.text("workflowRunId")?,
        workflow_id,
        stage_id: r.text("stageId")?,
        status: r.status("status")?,
        priority: r.int("priority")?,
        attempt: r.int("attempt")?,
        max_attempts: r.int("maxAttempts")?,
        worker_id: r.opt_text("workerId")?,
        locked_at: r.opt_timestamp("lockedAt")?,
        started_at: r.opt_timestamp("startedAt")?,
        completed_at: r.opt_timestamp("completedAt")?,
        next_poll_at: r.opt_timestamp("nextPollAt")?,
        payload,
        last_error: r.opt_text("lastError")?,
    })
}

pub(crate) fn ai_call(cells: &[Cell]) -> Result<AiCallRecord, StoreError> {
    let r = RowReader::new(&AI_CALLS, cells);
    Ok(AiCallRecord {
        id: r.text("id")?,
        created_at: r.timestamp("createdAt")?,
        topic: r.text("topic")?,
        call_type: r.text("callType")?,
        model_key: r.text("modelKey")?,
        model_id: r.text("modelId")?,
        prompt: r.text("prompt")?,
        response: r.text("response")?,
        input_tokens: r.int("inputTokens")?,
        output_tokens: r.int("outputTokens")?,
        cost: r.float("cost")?,
        metadata: r.opt_json("metadata")?,
    })
}

/// Decodes every row, failing on the first corrupt one.
pub(crate) fn all<T>(
    rows: Vec<Vec<Cell>>,
    decode: fn(&[Cell]) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|cells| decode(cells)).collect()
}

/// Decodes every row, logging and skipping corrupt ones, for scans whose other rows must still be served.
pub(crate) fn all_readable<T>(
    rows: Vec<Vec<Cell>>,
    decode: fn(&[Cell]) -> Result<T, StoreError>,
) -> Vec<T> {
    rows.iter()
        .filter_map(|cells| match decode(cells) {
            Ok(row) => Some(row),
            Err(error) => {
                tracing::error!(%error, "skipping an unreadable row");
                None
            }
        })
        .collect()
}
