//! Rows written by this crate have the shapes Prisma reads, and rows written in Prisma's format are read
//! back correctly, on SQLite and PostgreSQL.

mod common;

use serde_json::json;
use sqlx::Row;
use std::sync::Arc;
use workflow_core::kernel::{RunClaimPending, RunCreate};
use workflow_core::ports::{Status, Store};
use workflow_testing::FakeClock;

fn is_cuid(id: &str) -> bool {
    id.len() == 25
        && id.starts_with('c')
        && id[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

#[tokio::test]
async fn sqlite_rows_are_written_in_prisma_format() {
    let (_dir, store) = common::sqlite().await;
    let clock = Arc::new(FakeClock::new());
    clock.advance(std::time::Duration::from_millis(123));
    let kernel = common::kernel(store.clone(), clock);
    let run = kernel
        .dispatch(RunCreate::new(
            "k",
            "conformance-linear",
            json!({ "value": 2 }),
        ))
        .await
        .unwrap()
        .workflow_run_id;
    kernel.dispatch(RunClaimPending::new("w")).await.unwrap();

    let row = sqlx::query(
        "SELECT id, \"createdAt\", typeof(\"createdAt\"), \"updatedAt\", status, input, typeof(input), config, priority, typeof(priority), \
         \"totalCost\", typeof(\"totalCost\") FROM workflow_runs",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    let id: String = row.get(0);
    assert!(is_cuid(&id), "{id}");
    assert_eq!(id, run);
    assert_eq!(row.get::<String, _>(1), "2025-01-01T00:00:00.123+00:00");
    assert_eq!(row.get::<String, _>(2), "text");
    assert_eq!(row.get::<String, _>(4), "RUNNING");
    assert_eq!(
        row.get::<String, _>(5),
        "{\"value\":2}",
        "compact JSON text"
    );
    assert_eq!(row.get::<String, _>(6), "text");
    assert_eq!(
        row.get::<String, _>(7),
        "{\"first\":{\"factor\":2,\"label\":\"x\"},\"second\":{},\"third\":{}}"
    );
    assert_eq!(
        (row.get::<i64, _>(8), row.get::<String, _>(9)),
        (5, "integer".to_owned())
    );
    assert_eq!(row.get::<String, _>(11), "real");

    let job = sqlx::query("SELECT payload, status, \"createdAt\" = \"updatedAt\" FROM job_queue")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let payload: serde_json::Value = serde_json::from_str(&job.get::<String, _>(0)).unwrap();
    assert_eq!(payload["_workflowId"], "conformance-linear");
    assert_eq!(job.get::<String, _>(1), "PENDING");
    assert!(
        job.get::<bool, _>(2),
        "createdAt and updatedAt are equal on create"
    );
}

#[tokio::test]
async fn sqlite_rows_written_by_prisma_are_read() {
    let (_dir, store) = common::sqlite().await;
    sqlx::query(
        "INSERT INTO workflow_runs (id, \"createdAt\", \"updatedAt\", version, \"workflowId\", \"workflowName\", \"workflowType\", status, \
         \"startedAt\", input, output, config, \"totalCost\", \"totalTokens\", priority, metadata) VALUES \
         ('ckzprisma00000000000000001', '2026-11-21T22:47:31.123+00:00', '2026-11-21T22:47:32.456+00:00', 3, 'wf', 'Wf', 'wf', 'RUNNING', \
         '2026-11-21T22:47:31.500+00:00', '{\"url\":\"https://x\"}', 42, '{}', 0.75, 12, 9, NULL)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let mut session = store.executor().await.unwrap();
    let run = session
        .get_run("ckzprisma00000000000000001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, Status::Running);
    assert_eq!(run.version, 3);
    assert_eq!(
        workflow_core::time::to_js_iso(run.created_at),
        "2026-11-21T22:47:31.123Z"
    );
    assert_eq!(
        workflow_core::time::to_js_iso(run.updated_at),
        "2026-11-21T22:47:32.456Z"
    );
    assert_eq!(run.input, json!({ "url": "https://x" }));
    assert_eq!(
        run.output,
        Some(json!(42)),
        "a bare JSON number stored as INTEGER reads back as that number"
    );
    assert_eq!(
        (run.total_cost, run.total_tokens, run.priority),
        (0.75, 12, 9)
    );
    assert_eq!(run.metadata, None);
}

async fn postgres_round_trip(test: &str) {
    let Some((_backend, store)) = common::postgres(test).await else {
        return;
    };
    let clock = Arc::new(FakeClock::new());
    clock.advance(std::time::Duration::from_millis(123));
    let kernel = common::kernel(store.clone(), clock);
    kernel
        .dispatch(RunCreate::new(
            "k",
            "conformance-linear",
            json!({ "value": 2 }),
        ))
        .await
        .unwrap();
    let row = sqlx::query(
        "SELECT id, \"createdAt\"::text, pg_typeof(\"createdAt\")::text, status::text, pg_typeof(status)::text, \
         pg_typeof(input)::text, input::text FROM workflow_runs",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert!(is_cuid(&row.get::<String, _>(0)));
    assert_eq!(
        row.get::<String, _>(1),
        "2025-01-01 00:00:00.123",
        "UTC wall clock, millisecond precision"
    );
    assert_eq!(row.get::<String, _>(2), "timestamp without time zone");
    assert_eq!(
        (row.get::<String, _>(3), row.get::<String, _>(4)),
        ("PENDING".into(), "\"Status\"".into())
    );
    assert_eq!(row.get::<String, _>(5), "jsonb");
    assert_eq!(row.get::<String, _>(6), "{\"value\": 2}");

    // A row written the way Prisma writes it (enum cast, timestamp(3) UTC) reads back.
    sqlx::query(
        "INSERT INTO workflow_runs (id, \"createdAt\", \"updatedAt\", version, \"workflowId\", \"workflowName\", \"workflowType\", status, \
         input, config, \"totalCost\", \"totalTokens\", priority) VALUES ('ckzprisma00000000000000002', '2026-11-21 22:47:31.123', \
         '2026-11-21 22:47:31.123', 1, 'wf', 'Wf', 'wf', CAST('SUSPENDED'::text AS \"Status\"), '[1,2]'::jsonb, '{}'::jsonb, 0, 0, 5)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let run = store
        .executor()
        .await
        .unwrap()
        .get_run("ckzprisma00000000000000002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, Status::Suspended);
    assert_eq!(
        workflow_core::time::to_js_iso(run.created_at),
        "2026-11-21T22:47:31.123Z"
    );
    assert_eq!(run.input, json!([1, 2]));
}

#[tokio::test]
async fn postgres_rows_round_trip_in_prisma_format() {
    postgres_round_trip(module_path!()).await;
}
