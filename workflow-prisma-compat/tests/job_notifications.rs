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
    enqueuer.notify(Signal::Jobs);
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
    enqueuer.notify(Signal::Runs);
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

/// A burst of wake-ups becomes a few `NOTIFY`s (at most one per 20 ms window and channel, so listeners do
/// not pay a transaction per committed stage), and the last one of the burst is never dropped: a
/// notification follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wake_ups_are_coalesced_and_the_last_one_is_sent() {
    let Some(url) = postgres_url(module_path!()) else {
        return;
    };
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let schema = format!("wf_coalesce_{id}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .unwrap();
    let sender = store(&url, &schema, &format!("sender-{id}")).await;
    let mut listener = sqlx::postgres::PgListener::connect(&url).await.unwrap();
    listener.listen("workflow_jobs").await.unwrap();

    let begun = std::time::Instant::now();
    let mut requests = 0;
    while begun.elapsed() < Duration::from_millis(200) {
        sender.notify(Signal::Jobs);
        requests += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let burst = begun.elapsed();
    let mut received = Vec::new();
    while let Ok(Ok(notification)) =
        tokio::time::timeout(Duration::from_millis(500), listener.recv()).await
    {
        received.push((begun.elapsed(), notification.payload().to_owned()));
    }
    // Tests running beside this one notify the same database; the sender's notifications are the ones
    // naming it most often (every notification names its sending store).
    let mut by_sender: std::collections::HashMap<String, Vec<Duration>> = Default::default();
    for (at, payload) in received {
        by_sender.entry(payload).or_default().push(at);
    }
    let ours = by_sender
        .into_values()
        .max_by_key(|times| times.len())
        .expect("the burst was heard");
    let windows = (burst.as_millis() / 20) as usize + 1;
    assert!(
        ours.len() >= 2 && ours.len() <= windows + 1,
        "{requests} requests over {burst:?} became {} notifications (at most {windows} windows)",
        ours.len()
    );
    assert!(
        *ours.last().unwrap() >= burst,
        "a notification follows the last request: {ours:?}"
    );

    drop(sender);
    listener.unlisten_all().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

/// An outbox reader (`wf serve`) is woken when any store appends events; stores send nothing while no
/// reader is present, and workers' own listeners do not listen on the events channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_readers_are_woken_by_events_of_other_stores() {
    let Some(url) = postgres_url(module_path!()) else {
        return;
    };
    let admin = sqlx::PgPool::connect(&url).await.unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let schema = format!("wf_events_{id}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&admin)
        .await
        .unwrap();
    let writer_name = format!("writer-{id}");
    let writer = store(&url, &schema, &writer_name).await;
    writer.wait(Signal::Jobs, Duration::from_millis(1)).await;
    await_listeners(&admin, &writer_name, 1).await;
    let channels: Vec<String> =
        sqlx::query_scalar("SELECT query FROM pg_stat_activity WHERE application_name = $1")
            .bind(&writer_name)
            .fetch_all(&admin)
            .await
            .unwrap();
    assert!(
        channels
            .iter()
            .all(|query| !query.contains("workflow_events")),
        "a worker's listener does not listen for events: {channels:?}"
    );

    // Nobody holds the readers' lock: a plain listener hears nothing, the store sends nothing.
    let mut plain = sqlx::postgres::PgListener::connect(&url).await.unwrap();
    plain.listen("workflow_events").await.unwrap();
    writer.notify(Signal::Events);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), plain.recv())
            .await
            .is_err(),
        "no NOTIFY while no event reader is present"
    );

    // A reader announces itself; stores notice within their recheck interval (5 s).
    let mut reader = workflow_prisma_compat::EventWakeups::connect(&url)
        .await
        .unwrap();
    assert!(reader.is_notified());
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    let waiting = tokio::spawn(async move {
        reader.next().await;
        reader
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    writer.notify(Signal::Events);
    tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("events appended by another store wake the reader")
        .unwrap();

    drop(writer);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&admin)
    .await
    .unwrap();
}

#[tokio::test]
async fn sqlite_event_readers_poll() {
    let reader = workflow_prisma_compat::EventWakeups::connect("sqlite:unused.db")
        .await
        .unwrap();
    assert!(!reader.is_notified(), "SQLite has no notifications");
}
