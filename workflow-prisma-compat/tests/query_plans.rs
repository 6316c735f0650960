//! The read-only queries (run lists, a run's event cursor, the feed of all runs) are index-backed: with
//! 100,000 runs and 200,000 events in the tables, no plan reads a whole table.

mod common;

use chrono::{TimeZone, Utc};
use serde_json::json;
use sqlx::AssertSqlSafe;
use workflow_core::ports::{RunFilter, Status};
use workflow_prisma_compat::testing::{PlannedQuery, postgres_query_plan, sqlite_query_plan};

const RUNS: usize = 100_000;

/// The queries checked, with what each is called in messages.
fn queries() -> Vec<(&'static str, PlannedQuery)> {
    let list = |filter: RunFilter| {
        PlannedQuery::ListRuns(RunFilter {
            limit: Some(51),
            ..filter
        })
    };
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap();
    vec![
        ("newest runs", list(RunFilter::default())),
        (
            "next page",
            list(RunFilter {
                before_id: Some("c0000050000".into()),
                ..RunFilter::default()
            }),
        ),
        (
            "failed runs",
            list(RunFilter {
                status: Some(Status::Failed),
                ..RunFilter::default()
            }),
        ),
        (
            "runs of a workflow, next page",
            list(RunFilter {
                workflow_id: Some("wf3".into()),
                before_id: Some("c0000050000".into()),
                ..RunFilter::default()
            }),
        ),
        (
            "created-at range",
            list(RunFilter {
                created_from: Some(day(1)),
                created_before: Some(day(2)),
                ..RunFilter::default()
            }),
        ),
        (
            "annotation key and value",
            list(RunFilter {
                annotation: Some(("tenant".into(), json!("t3"))),
                ..RunFilter::default()
            }),
        ),
        ("a run's events after a sequence", PlannedQuery::RunEvents),
        ("the feed of all runs after an id", PlannedQuery::EventFeed),
        (
            "AI usage of a run",
            PlannedQuery::AiUsageByTopic("workflow.c0000050000.".into()),
        ),
        (
            "AI calls of a stage",
            PlannedQuery::AiCallsByTopic("workflow.c0000050000.stage.s2".into()),
        ),
    ]
}

/// 100,000 runs (one per second from 2026-01-01, ten workflows, 2% failed), two events and one AI call
/// (topic `workflow.<runId>.stage.s<0..2>`) each, and a `tenant` annotation on every tenth run, for PostgreSQL (`generate_series`) or SQLite (a recursive
/// CTE `n(i)`).
fn fill(series: &str, timestamp: &str, text: &str) -> String {
    format!(
        "INSERT INTO workflow_runs (id, \"createdAt\", \"updatedAt\", \"workflowId\", \"workflowName\", \"workflowType\", status, input) \
         SELECT 'c' || {pad}, {timestamp}, {timestamp}, 'wf' || (i % 10), 'W', 'wf' || (i % 10), \
         CASE WHEN i % 50 = 0 THEN 'FAILED' ELSE 'COMPLETED' END{status_cast}, '{{}}' FROM {series}; \
         INSERT INTO outbox_events (id, \"workflowRunId\", sequence, \"eventType\", payload, \"causationId\", \"occurredAt\", \"createdAt\") \
         SELECT 'e' || {pad} || '-' || s.seq, 'c' || {pad}, s.seq, 'stage:completed', '{{}}', 'c', {timestamp}, {timestamp} \
         FROM {series} CROSS JOIN (SELECT 1 AS seq UNION ALL SELECT 2) AS s; \
         INSERT INTO workflow_annotations (id, \"createdAt\", \"workflowRunId\", scope, key, value) \
         SELECT 'a' || {pad}, {timestamp}, 'c' || {pad}, 'run', 'tenant', ('\"t' || (i % 7) || '\"'){json_cast} FROM {series} WHERE i % 10 = 0; \
         INSERT INTO ai_calls (id, \"createdAt\", topic, \"callType\", \"modelKey\", \"modelId\", prompt, response, \"inputTokens\", \"outputTokens\", cost) \
         SELECT 'ai' || {pad}, {timestamp}, 'workflow.c' || {pad} || '.stage.s' || (i % 3), 'text', 'm', 'm', '', '', 10, 5, 0.001 FROM {series};",
        pad = if text == "text" {
            "lpad(i::text, 10, '0')"
        } else {
            "substr('0000000000' || i, -10, 10)"
        },
        status_cast = if text == "text" { "::\"Status\"" } else { "" },
        json_cast = if text == "text" { "::jsonb" } else { "" },
    )
}

/// Prints every plan, then fails naming each one that reads a whole table.
fn assert_index_backed(plans: &[(&str, String)]) {
    let mut failures = Vec::new();
    for (name, plan) in plans {
        println!("--- {name}\n{plan}");
        if !full_scans(plan).is_empty() {
            failures.push(format!("{name}:\n{plan}"));
        }
    }
    assert!(
        failures.is_empty(),
        "full table scans:\n{}",
        failures.join("\n\n")
    );
}

fn full_scans(plan: &str) -> Vec<&str> {
    plan.lines()
        .filter(|line| {
            let line = line.trim_start().trim_start_matches("->").trim_start();
            line.starts_with("Seq Scan") || (line.starts_with("SCAN ") && !line.contains("USING"))
        })
        .collect()
}

#[tokio::test]
async fn postgres_queries_are_index_backed_at_100k_runs() {
    let Some((backend, store)) = common::postgres(module_path!()).await else {
        return;
    };
    let series = format!("generate_series(1, {RUNS}) AS i");
    let timestamp = "(TIMESTAMP '2026-01-01 00:00:00' + i * INTERVAL '1 second')";
    sqlx::raw_sql(AssertSqlSafe(fill(&series, timestamp, "text")))
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql("ANALYZE")
        .execute(store.pool())
        .await
        .unwrap();
    let mut plans = Vec::new();
    for (name, query) in queries() {
        plans.push((name, postgres_query_plan(&store, &query).await));
    }
    assert_index_backed(&plans);
    let plan = postgres_query_plan(&store, &PlannedQuery::RunEvents).await;
    assert!(
        plan.contains("outbox_events_workflowRunId_sequence_key"),
        "{plan}"
    );
    let plan = postgres_query_plan(&store, &PlannedQuery::EventFeed).await;
    assert!(plan.contains("outbox_events_pkey"), "{plan}");
    // The test database sorts by code point (C.UTF-8), so topic prefixes are index ranges.
    let usage = PlannedQuery::AiUsageByTopic("workflow.c0000050000.".into());
    let plan = postgres_query_plan(&store, &usage).await;
    assert!(plan.contains("ai_calls_topic_idx"), "{plan}");
    workflow_testing::conformance::BackendFactory::cleanup(&backend).await;
}

#[tokio::test]
async fn sqlite_queries_are_index_backed_at_100k_runs() {
    let (_dir, store) = common::sqlite().await;
    let series = format!(
        "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {RUNS}) SELECT i FROM n)"
    );
    let timestamp =
        "strftime('%Y-%m-%dT%H:%M:%S.000+00:00', '2026-01-01 00:00:00', '+' || i || ' seconds')";
    sqlx::raw_sql(AssertSqlSafe(fill(&series, timestamp, "")))
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql("ANALYZE")
        .execute(store.pool())
        .await
        .unwrap();
    let mut plans = Vec::new();
    for (name, query) in queries() {
        plans.push((name, sqlite_query_plan(&store, &query).await));
    }
    assert_index_backed(&plans);
    let plan = sqlite_query_plan(&store, &PlannedQuery::RunEvents).await;
    assert!(
        plan.contains("sqlite_autoindex_outbox_events")
            || plan.contains("outbox_events_workflowRunId_sequence_key"),
        "{plan}"
    );
    let usage = PlannedQuery::AiUsageByTopic("workflow.c0000050000.".into());
    let plan = sqlite_query_plan(&store, &usage).await;
    assert!(plan.contains("ai_calls_topic_idx"), "{plan}");
}
