//! Bad data never stops the engine: a row with an unknown status or malformed JSON is reported with its
//! table, row id and column, and the worker keeps serving the other runs.

mod common;

use serde_json::json;
use std::time::Duration;
use workflow_core::hosts::{HostConfig, WaitOptions, WorkerHost};
use workflow_core::kernel::JobOutcome;
use workflow_core::kernel::RunCreate;
use workflow_core::ports::{RunFilter, Status, StoreError};
use workflow_testing::conformance::{Backend, Harness, fixtures};

#[tokio::test]
async fn corrupt_rows_are_named_and_isolated() {
    let (_dir, store) = common::sqlite().await;
    let h = Harness::with_registry(Backend::of(store.clone()), fixtures::registry());
    let good = h.create("conformance-linear", json!({ "value": 1 })).await;
    let bad_json = h
        .kernel
        .dispatch(RunCreate::new("bad-json", "conformance-linear", json!({})).priority(9))
        .await
        .unwrap()
        .workflow_run_id;
    let bad_status = h.create("conformance-linear", json!({})).await;
    sqlx::query("UPDATE workflow_runs SET input = '{not json' WHERE id = $1")
        .bind(&bad_json)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE workflow_runs SET status = 'DONE' WHERE id = $1")
        .bind(&bad_status)
        .execute(store.pool())
        .await
        .unwrap();

    // Reading a corrupt row names the table, the row and the column.
    let error = h.session().await.get_run(&bad_status).await.unwrap_err();
    assert!(
        matches!(&error, StoreError::CorruptRow { table: "workflow_runs", column: "status", row_id, .. } if *row_id == bad_status)
    );
    assert_eq!(
        error.to_string(),
        format!("table workflow_runs, row {bad_status}, column status: unknown status \"DONE\"")
    );
    let error = h.session().await.get_run(&bad_json).await.unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "table workflow_runs, row {bad_json}, column input: malformed JSON"
        )),
        "{error}"
    );
    assert!(
        h.session()
            .await
            .list_runs(&RunFilter::default())
            .await
            .is_err(),
        "a listing that includes the row reports it"
    );

    // The claim meets the malformed run first (higher priority): it is quarantined and the good run served.
    let run = h.drive(&good).await;
    assert_eq!(run.status, Status::Completed);
    let (status, output): (String, String) =
        sqlx::query_as("SELECT status, output FROM workflow_runs WHERE id = $1")
            .bind(&bad_json)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(status, "FAILED");
    let output: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(output["error"]["code"], "CORRUPT_ROW");
    assert!(
        output["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("run row cannot be read: column input: malformed JSON")
    );
}

#[tokio::test]
async fn corrupt_jobs_and_stages_do_not_block_other_runs() {
    let (_dir, store) = common::sqlite().await;
    let h = Harness::with_registry(Backend::of(store.clone()), fixtures::registry());
    let broken_job = h.create("conformance-linear", json!({})).await;
    let broken_stage = h.create("conformance-linear", json!({})).await;
    let good = h.create("conformance-linear", json!({ "value": 3 })).await;
    h.claim().await;
    // A job whose payload lost its workflow id, and a stage row with malformed metrics.
    sqlx::query("UPDATE job_queue SET payload = '{}' WHERE \"workflowRunId\" = $1")
        .bind(&broken_job)
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE workflow_stages SET metrics = '[' WHERE \"workflowRunId\" = $1")
        .bind(&broken_stage)
        .execute(store.pool())
        .await
        .unwrap();

    let outcomes: Vec<JobOutcome> = h.drain().await.into_iter().map(|run| run.outcome).collect();
    assert!(outcomes.contains(&JobOutcome::Completed));
    let job: (String, String) =
        sqlx::query_as("SELECT status, \"lastError\" FROM job_queue WHERE \"workflowRunId\" = $1")
            .bind(&broken_job)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(job.0, "FAILED", "the unreadable job is quarantined");
    assert_eq!(
        job.1,
        "job row cannot be read: column payload: the payload has no _workflowId"
    );
    let stage_errors: Vec<String> =
        sqlx::query_scalar("SELECT \"lastError\" FROM job_queue WHERE \"workflowRunId\" = $1")
            .bind(&broken_stage)
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert!(
        stage_errors[0].contains("table workflow_stages")
            && stage_errors[0].contains("column metrics"),
        "{stage_errors:?}"
    );
    assert_eq!(
        h.drive(&good).await.status,
        Status::Completed,
        "the other runs are served"
    );
}

#[tokio::test]
async fn reaping_continues_past_an_unreadable_run() {
    let (_dir, store) = common::sqlite().await;
    let h = Harness::with_registry(Backend::of(store.clone()), fixtures::registry());
    let unreadable = h.create("conformance-linear", json!({})).await;
    let healthy = h.create("conformance-linear", json!({})).await;
    h.claim().await;
    // Both runs lose their jobs; one also has an unreadable stage row.
    sqlx::query("DELETE FROM job_queue")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE workflow_stages SET \"outputData\" = '{' WHERE \"workflowRunId\" = $1")
        .bind(&unreadable)
        .execute(store.pool())
        .await
        .unwrap();
    h.advance(std::time::Duration::from_secs(901));
    let reaped = h
        .kernel
        .dispatch(workflow_core::kernel::RunReapStuck {
            stuck_threshold: std::time::Duration::from_secs(900),
        })
        .await
        .unwrap();
    assert_eq!((reaped.failed, reaped.requeued), (1, 1));
    let (status, output): (String, String) =
        sqlx::query_as("SELECT status, output FROM workflow_runs WHERE id = $1")
            .bind(&unreadable)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(status, "FAILED");
    assert!(
        output.contains("column outputData: malformed JSON"),
        "{output}"
    );
    assert_eq!(h.drive(&healthy).await.status, Status::Completed);
}

#[tokio::test]
async fn a_worker_host_keeps_serving_around_corrupt_rows() {
    let (_dir, store) = common::sqlite().await;
    let h = Harness::with_registry(Backend::of(store.clone()), fixtures::registry());
    let corrupt = h
        .kernel
        .dispatch(RunCreate::new("corrupt", "conformance-linear", json!({})).priority(9))
        .await
        .unwrap()
        .workflow_run_id;
    sqlx::query("UPDATE workflow_runs SET input = '[1,' WHERE id = $1")
        .bind(&corrupt)
        .execute(store.pool())
        .await
        .unwrap();
    let mut healthy = Vec::new();
    for value in 0..3 {
        healthy.push(
            h.create("conformance-linear", json!({ "value": value }))
                .await,
        );
    }

    let host = WorkerHost::new(
        h.kernel.clone(),
        HostConfig {
            concurrency: 2,
            orchestration_interval: Duration::from_millis(20),
            job_poll_interval: Duration::from_millis(20),
            ..h.host.clone()
        },
    );
    assert!(host.start().await.expect("valid host settings"));
    let options = WaitOptions {
        poll_interval: Duration::from_millis(5),
        timeout: Some(Duration::from_secs(20)),
    };
    for run_id in &healthy {
        let summary = host
            .run_until_finished(run_id, options.clone(), |_| {})
            .await
            .unwrap();
        assert_eq!(summary.status, Status::Completed, "run {run_id}");
    }
    assert!(host.is_running().await, "the worker is still serving");
    host.stop().await;
    // The claim met the unreadable run first (it has the highest priority) and quarantined it.
    let (status, output): (String, String) =
        sqlx::query_as("SELECT status, output FROM workflow_runs WHERE id = $1")
            .bind(&corrupt)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(status, "FAILED");
    assert!(output.contains("column input: malformed JSON"), "{output}");
}

/// Closed sets stored as text (log levels, AI call types) are read strictly: a value no engine writes is a
/// corrupt row naming the column and the accepted values, not a silently passed-through string.
#[tokio::test]
async fn unknown_log_levels_and_call_types_are_named() {
    let (_dir, store) = common::sqlite().await;
    let h = Harness::with_registry(Backend::of(store.clone()), fixtures::registry());
    let run = h.create("conformance-linear", json!({ "value": 1 })).await;
    sqlx::query(
        "INSERT INTO workflow_logs (id, createdAt, workflowRunId, level, message) \
         VALUES ('log-verbose', '2026-12-01T00:00:00.000+00:00', $1, 'VERBOSE', 'chatty')",
    )
    .bind(&run)
    .execute(store.pool())
    .await
    .unwrap();
    let error = h.session().await.logs_by_run(&run).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "table workflow_logs, row log-verbose, column level: unknown log level \"VERBOSE\" (expected DEBUG, INFO, WARN or ERROR)"
    );

    sqlx::query(
        "INSERT INTO ai_calls (id, createdAt, topic, callType, modelKey, modelId, prompt, response, inputTokens, outputTokens, cost) \
         VALUES ('call-image', '2026-12-01T00:00:00.000+00:00', 'workflow.x', 'image', 'm', 'm', 'p', 'r', 1, 1, 0.0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let error = workflow_core::ports::AiCallLog::ai_calls_by_topic(&*store, "workflow.")
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "table ai_calls, row call-image, column callType: unknown AI call type \"image\" (expected text, object, embed, stream or batch)"
    );
}
