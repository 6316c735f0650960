//! Job claims are index-backed: their cost does not grow with the number of finished jobs.

mod common;

use sqlx::AssertSqlSafe;
use workflow_prisma_compat::testing::{PlannedQuery, postgres_query_plan, sqlite_query_plan};

/// Inserts `finished` completed jobs and `pending` pending ones.
fn fill(finished: usize, pending: usize, now: &str) -> String {
    format!(
        "INSERT INTO job_queue (id, \"createdAt\", \"updatedAt\", \"workflowRunId\", \"stageId\", status, priority, payload) \
         SELECT 'done' || n, {now}, {now}, 'r' || n, 's', 'COMPLETED', 5, '{{\"_workflowId\":\"w\"}}' FROM generate_series(1, {finished}) AS n; \
         INSERT INTO job_queue (id, \"createdAt\", \"updatedAt\", \"workflowRunId\", \"stageId\", status, priority, payload) \
         SELECT 'todo' || n, {now}, {now}, 'p' || n, 's', 'PENDING', 5, '{{\"_workflowId\":\"w\"}}' FROM generate_series(1, {pending}) AS n;"
    )
}

#[tokio::test]
async fn postgres_claims_use_the_status_index() {
    let Some((backend, store)) = common::postgres(module_path!()).await else {
        return;
    };
    sqlx::raw_sql(AssertSqlSafe(fill(20_000, 20, "now()::timestamp(3)")))
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql("ANALYZE job_queue")
        .execute(store.pool())
        .await
        .unwrap();
    let plan = postgres_query_plan(&store, &PlannedQuery::JobClaim).await;
    assert!(plan.contains("job_queue_status_priority_idx"), "{plan}");
    assert!(!plan.contains("Seq Scan on job_queue"), "{plan}");
    workflow_testing::conformance::BackendFactory::cleanup(&backend).await;
}

#[tokio::test]
async fn sqlite_claims_use_the_status_index() {
    let (_dir, store) = common::sqlite().await;
    let generate = |status: &str, prefix: &str, count: usize| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) \
             INSERT INTO job_queue (id, \"createdAt\", \"updatedAt\", \"workflowRunId\", \"stageId\", status, priority, payload) \
             SELECT '{prefix}' || i, '2025-01-01T00:00:00.000+00:00', '2025-01-01T00:00:00.000+00:00', 'r' || i, 's', '{status}', 5, \
             '{{\"_workflowId\":\"w\"}}' FROM n"
        )
    };
    sqlx::raw_sql(AssertSqlSafe(generate("COMPLETED", "done", 20_000)))
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql(AssertSqlSafe(generate("PENDING", "todo", 20)))
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::raw_sql("ANALYZE")
        .execute(store.pool())
        .await
        .unwrap();
    let plan = sqlite_query_plan(&store, &PlannedQuery::JobClaim).await;
    assert!(
        plan.contains("USING INDEX job_queue_status_priority_idx (status=?)"),
        "{plan}"
    );
    assert!(
        !plan.contains("SCAN job_queue\n") && !plan.ends_with("SCAN job_queue"),
        "{plan}"
    );
}
