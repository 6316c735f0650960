//! Column lists of every table and the decoding of their rows.

use super::{Columns, RowReader, Table};
use workflow_core::ports::JobRecord;
use workflow_core::ports::*;

pub(crate) const RUNS: Table = Table {
    name: "workflow_runs",
    columns: &[
        "id",
        "createdAt",
        "updatedAt",
        "version",
        "workflowId",
        "workflowName",
        "workflowType",
        "status",
        "startedAt",
        "completedAt",
        "duration",
        "input",
        "output",
        "config",
        "totalCost",
        "totalTokens",
        "priority",
        "metadata",
    ],
};

pub(crate) const STAGES: Table = Table {
    name: "workflow_stages",
    columns: &[
        "id",
        "createdAt",
        "updatedAt",
        "version",
        "workflowRunId",
        "stageId",
        "stageName",
        "stageNumber",
        "executionGroup",
        "attempt",
        "status",
        "startedAt",
        "completedAt",
        "duration",
        "inputData",
        "outputData",
        "config",
        "suspendedState",
        "resumeData",
        "nextPollAt",
        "pollInterval",
        "maxWaitUntil",
        "metrics",
        "embeddingInfo",
        "errorMessage",
    ],
};

pub(crate) const LOGS: Table = Table {
    name: "workflow_logs",
    columns: &[
        "id",
        "createdAt",
        "workflowRunId",
        "workflowStageId",
        "level",
        "message",
        "metadata",
    ],
};

pub(crate) const ANNOTATIONS: Table = Table {
    name: "workflow_annotations",
    columns: &[
        "id",
        "createdAt",
        "workflowRunId",
        "workflowStageRecordId",
        "attempt",
        "scope",
        "scopeId",
        "actorKind",
        "actorId",
        "actorVersion",
        "key",
        "value",
        "payload",
        "idempotencyKey",
    ],
};

pub(crate) const OUTBOX: Table = Table {
    name: "outbox_events",
    columns: &[
        "id",
        "createdAt",
        "workflowRunId",
        "sequence",
        "eventType",
        "payload",
        "causationId",
        "occurredAt",
        "publishedAt",
        "retryCount",
        "dlqAt",
    ],
};

pub(crate) const JOBS: Table = Table {
    name: "job_queue",
    columns: &[
        "id",
        "createdAt",
        "updatedAt",
        "workflowRunId",
        "stageId",
        "status",
        "priority",
        "attempt",
        "maxAttempts",
        "workerId",
        "lockedAt",
        "startedAt",
        "completedAt",
        "nextPollAt",
        "payload",
        "lastError",
    ],
};

pub(crate) const AI_CALLS: Table = Table {
    name: "ai_calls",
    columns: &[
        "id",
        "createdAt",
        "topic",
        "callType",
        "modelKey",
        "modelId",
        "prompt",
        "response",
        "inputTokens",
        "outputTokens",
        "cost",
        "metadata",
    ],
};

pub(crate) fn run(row: &impl Columns) -> Result<RunRecord, StoreError> {
    let r = RowReader::new(&RUNS, row);
    Ok(RunRecord {
        id: r.text("id")?.into(),
        created_at: r.ts("createdAt")?,
        updated_at: r.ts("updatedAt")?,
        version: r.int("version")?,
        workflow_id: r.text("workflowId")?.into(),
        workflow_name: r.text("workflowName")?,
        workflow_type: r.text("workflowType")?,
        status: r.status("status")?,
        started_at: r.opt_ts("startedAt")?,
        completed_at: r.opt_ts("completedAt")?,
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

pub(crate) fn stage(row: &impl Columns) -> Result<StageRecord, StoreError> {
    let r = RowReader::new(&STAGES, row);
    Ok(StageRecord {
        id: r.text("id")?.into(),
        created_at: r.ts("createdAt")?,
        updated_at: r.ts("updatedAt")?,
        version: r.int("version")?,
        workflow_run_id: r.text("workflowRunId")?.into(),
        stage_id: r.text("stageId")?.into(),
        stage_name: r.text("stageName")?,
        stage_number: r.int("stageNumber")?,
        execution_group: r.int("executionGroup")?,
        attempt: r.int("attempt")?,
        status: r.status("status")?,
        started_at: r.opt_ts("startedAt")?,
        completed_at: r.opt_ts("completedAt")?,
        duration: r.opt_int("duration")?,
        input_data: r.opt_json("inputData")?,
        output_data: r.opt_json("outputData")?,
        config: r.opt_json("config")?,
        suspended_state: r.opt_json("suspendedState")?,
        resume_data: r.opt_json("resumeData")?,
        next_poll_at: r.opt_ts("nextPollAt")?,
        poll_interval: r.opt_int("pollInterval")?,
        max_wait_until: r.opt_ts("maxWaitUntil")?,
        metrics: r.opt_json("metrics")?,
        embedding_info: r.opt_json("embeddingInfo")?,
        error_message: r.opt_text("errorMessage")?,
    })
}

pub(crate) fn log(row: &impl Columns) -> Result<LogRecord, StoreError> {
    let r = RowReader::new(&LOGS, row);
    Ok(LogRecord {
        id: r.text("id")?,
        created_at: r.ts("createdAt")?,
        workflow_run_id: r.opt_text("workflowRunId")?.map(Into::into),
        workflow_stage_id: r.opt_text("workflowStageId")?.map(Into::into),
        level: r.parsed("level")?,
        message: r.text("message")?,
        metadata: r.opt_json("metadata")?,
    })
}

pub(crate) fn annotation(row: &impl Columns) -> Result<AnnotationRecord, StoreError> {
    let r = RowReader::new(&ANNOTATIONS, row);
    Ok(AnnotationRecord {
        id: r.text("id")?,
        created_at: r.ts("createdAt")?,
        workflow_run_id: r.text("workflowRunId")?.into(),
        workflow_stage_record_id: r.opt_text("workflowStageRecordId")?.map(Into::into),
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

pub(crate) fn outbox(row: &impl Columns) -> Result<OutboxRecord, StoreError> {
    let r = RowReader::new(&OUTBOX, row);
    Ok(OutboxRecord {
        id: r.text("id")?,
        created_at: r.ts("createdAt")?,
        workflow_run_id: r.text("workflowRunId")?.into(),
        sequence: r.int("sequence")?,
        event_type: r.text("eventType")?,
        payload: r.json("payload")?,
        causation_id: r.text("causationId")?,
        occurred_at: r.ts("occurredAt")?,
        published_at: r.opt_ts("publishedAt")?,
        retry_count: r.int("retryCount")?,
        dlq_at: r.opt_ts("dlqAt")?,
    })
}

/// A job row; `workflowId` is split out of `payload._workflowId`, as the Prisma job queue stores it.
pub(crate) fn job(row: &impl Columns) -> Result<JobRecord, StoreError> {
    let r = RowReader::new(&JOBS, row);
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
        id: r.text("id")?.into(),
        created_at: r.ts("createdAt")?,
        updated_at: r.ts("updatedAt")?,
        workflow_run_id: r.text("workflowRunId")?.into(),
        workflow_id: workflow_id.into(),
        stage_id: r.text("stageId")?.into(),
        status: r.status("status")?,
        priority: r.int("priority")?,
        attempt: r.int("attempt")?,
        max_attempts: r.int("maxAttempts")?,
        worker_id: r.opt_text("workerId")?,
        locked_at: r.opt_ts("lockedAt")?,
        started_at: r.opt_ts("startedAt")?,
        completed_at: r.opt_ts("completedAt")?,
        next_poll_at: r.opt_ts("nextPollAt")?,
        payload,
        last_error: r.opt_text("lastError")?,
    })
}

pub(crate) fn ai_call(row: &impl Columns) -> Result<AiCallRecord, StoreError> {
    let r = RowReader::new(&AI_CALLS, row);
    Ok(AiCallRecord {
        id: r.text("id")?,
        created_at: r.ts("createdAt")?,
        topic: r.text("topic")?,
        call_type: r.parsed("callType")?,
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

/// Decodes every row, logging and skipping corrupt ones, for scans whose other rows must still be served.
pub(crate) fn all_readable<R: Columns, T>(
    rows: Vec<R>,
    decode: fn(&R) -> Result<T, StoreError>,
) -> Vec<T> {
    rows.iter()
        .filter_map(|row| match decode(row) {
            Ok(record) => Some(record),
            Err(error) => {
                tracing::error!(%error, "skipping an unreadable row");
                None
            }
        })
        .collect()
}
