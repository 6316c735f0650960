//! Workers on other machines are woken by `LISTEN`/`NOTIFY` when jobs are enqueued or runs created, and
//! the listener connection ends with its store.

use chrono::Utc;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;
use workflow_core::ports::{NewJob, NewRun, Signal, Store};
use workflow_prisma_compat::PgStore;
use workflow_prisma_compat::testing::postgres_url;

/// A store on `schema` whose connections carry `application_name`, as a separate worker process would.
async fn store(url: &str, schema: &str, application_name: &str) -> PgStore {
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .application_name(application_name)
        .options([("search_path", schema)]);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    PgStore::migrated(pool, url).await.unwrap()
}

/// How many backends of `application_name` are listening for jobs.
async fn listeners(admin: &sqlx::PgPool, application_name: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'",
    )
    .bind(application_name)
    .fetch_one(admin)
    .await
    .unwrap()
}

/// Polls until `listeners` is `expected` (panics after 20 s).
async fn await_listeners(admin: &sqlx::PgPool, application_name: &str, expected: i64) {
    for _ in 0..200 {
        if listeners(admin, application_name).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{application_name} never had {expected} job listeners");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_is_woken_by_another_process_and_its_listener_ends_with_it() {
    let Some(url) = postgres_url(module_path!()) else {
        return;
    };
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let schema = format!("wf_notify_{id}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .unwrap();
    let (waiter_name, enqueuer_name) = (format!("waiter-{id}"), format!("enqueuer-{id}"));
    let waiter = store(&url, &schema, &waiter_name).await;
    let enqueuer = store(&url, &schema, &enqueuer_name).await;

    // The first wait starts the listener.
    waiter.wait(Signal::Jobs, Duration::from_millis(1)).await;
    await_listeners(&admin, &waiter_name, 1).await;

    // Another store (another machine) enqueues: the waiter wakes long before its 10-minute wait ends.
    let waiting = tokio::spawn(async move {
        waiter.wait(Signal::Jobs, Duration::from_secs(600)).await;
        waiter
    });
    let mut tx = enqueuer.begin().await.unwrap();
    let job = NewJob {
        workflow_run_id: "run-1".into(),
        workflow_id: "workflow".into(),
        stage_id: "stage".into(),
        priority: 5,
        payload: json!({ "config": {} }),
    };
    tx.enqueue_jobs(vec![job], Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    let waiter = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the NOTIFY of another store wakes the waiting worker")
        .unwrap();

    // A run created elsewhere wakes the run claimers the same way.
    let waiting = tokio::spawn(async move {
        waiter.wait(Signal::Runs, Duration::from_secs(600)).await;
        waiter
    });
    let run = NewRun {
        workflow_id: "workflow".into(),
        workflow_name: "Workflow".into(),
        workflow_type: "workflow".into(),
        input: json!({}),
        config: json!({}),
        priority: 5,
        metadata: None,
    };
    let mut executor = enqueuer.executor().await.unwrap();
    executor.create_run(run, Utc::now()).await.unwrap();
    drop(executor);
    let waiter = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("a run created by another store wakes the waiting claimer")
        .unwrap();

    // Dropping the store stops its listener, which closes its connection.
    drop(waiter);
    await_listeners(&admin, &waiter_name, 0).await;
    assert_eq!(
        listeners(&admin, &enqueuer_name).await,
        0,
        "only waiting stores listen"
    );

    drop(enqueuer);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&admin)
    .await
    .unwrap();
}
