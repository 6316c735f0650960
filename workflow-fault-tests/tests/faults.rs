//! Fault tests: real `fault-worker` processes against a real database, killed (`kill -9`), stopped
//! (SIGTERM) and cut off (`pg_terminate_backend`) mid-stage. Each test has a database of its own; they run
//! one at a time (the machine is small and the timings of one should not starve another).

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::{Scenario, Sql, Worker, WorkerSettings, body_counts, body_lines, eventually};

/// Waits until every run of `db` is `COMPLETED` (panics on a failed or cancelled run, or after
/// `timeout`).
async fn all_completed(sql: &Sql, runs: usize, timeout: Duration) {
    eventually(timeout, "every run completing", || async {
        let statuses = sql.statuses("workflow_runs").await;
        for status in ["FAILED", "CANCELLED"] {
            assert_eq!(statuses.get(status), None, "runs by status: {statuses:?}");
        }
        (statuses.get("COMPLETED").copied().unwrap_or(0) as usize == runs).then_some(())
    })
    .await;
}

/// Nothing is left `RUNNING` or `PENDING` in stages or jobs.
async fn nothing_left_over(sql: &Sql) {
    for table in ["workflow_stages", "job_queue"] {
        let statuses = sql.statuses(table).await;
        assert_eq!(
            statuses.keys().map(String::as_str).collect::<Vec<_>>(),
            ["COMPLETED"],
            "{table} by status: {statuses:?}"
        );
    }
}

/// `kill -9` while a stage runs: after the lease goes stale another worker runs the stage again (attempt
/// 2), the run completes, and the output, the stage's completion and its event are recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stage_is_recovered_and_recorded_once() {
    let Some(scenario) = Scenario::postgres(module_path!()).await else {
        return;
    };
    let (db, kernel, sql) = (&scenario.db, &scenario.kernel, &scenario.sql);
    let run = db
        .create_runs(kernel, "fault-slow", 1, 1_500)
        .await
        .remove(0);
    let settings = WorkerSettings::default();
    let first = Worker::start(db, "doomed", &settings);
    let first_pid = first.pid;
    db.started_in(first_pid).await;
    first.kill_9().await;
    let killed_at = Instant::now();

    let second = Worker::start(db, "survivor", &settings);
    all_completed(sql, 1, Duration::from_secs(60)).await;
    let recovered_in = killed_at.elapsed();
    second.stop().await;

    let lines = body_lines(&db.body_log());
    let ends: Vec<_> = lines.iter().filter(|l| l.event == "end").collect();
    assert_eq!(ends.len(), 1, "the body finished once: {lines:?}");
    assert_eq!(ends[0].pid, second_pid(&lines, first_pid));
    assert_eq!(sql.stage(&run, "slow").await.0, "COMPLETED");
    assert_eq!(sql.events(&run, "stage:completed").await, 1);
    assert_eq!(sql.events(&run, "workflow:completed").await, 1);
    let jobs = sql.jobs(&run, "slow").await;
    assert_eq!(jobs, [("COMPLETED".to_owned(), 2)], "one job, leased twice");
    let artifacts = sql.artifacts(&run).await;
    assert_eq!(
        artifacts
            .iter()
            .filter(|key| key.ends_with("output.json"))
            .count(),
        1,
        "one stored output: {artifacts:?}"
    );
    assert!(
        recovered_in < Duration::from_secs(30),
        "recovered {recovered_in:?} after the kill (lease 2 s)"
    );
    nothing_left_over(sql).await;
    scenario.finish().await;
}

/// The pid of the worker that is not `first`.
fn second_pid(lines: &[workflow_fault_tests::BodyLine], first: u32) -> u32 {
    lines
        .iter()
        .map(|l| l.pid)
        .find(|pid| *pid != first)
        .expect("a second worker ran the stage")
}

/// Four worker processes drain 500 runs of `a >> (b | c) >> d`: every stage body runs exactly once, every
/// run completes, and nothing is left running or queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_run_every_stage_once() {
    let Some(scenario) = Scenario::postgres(module_path!()).await else {
        return;
    };
    let (db, kernel, sql) = (&scenario.db, &scenario.kernel, &scenario.sql);
    let runs = db.create_runs(kernel, "fault-diamond", 500, 0).await;
    let settings = WorkerSettings {
        concurrency: 8,
        ..WorkerSettings::default()
    };
    let workers: Vec<Worker> = (0..4)
        .map(|n| Worker::start(db, &format!("worker-{n}"), &settings))
        .collect();
    all_completed(sql, runs.len(), Duration::from_secs(240)).await;
    for worker in workers {
        worker.stop().await;
    }
    let lines = body_lines(&db.body_log());
    let ends = body_counts(&lines, "end");
    assert_eq!(ends.len(), runs.len() * 4, "every stage of every run ran");
    let starts = body_counts(&lines, "start");
    let twice: Vec<_> = ends
        .iter()
        .chain(&starts)
        .filter(|(_, n)| **n != 1)
        .collect();
    assert!(
        twice.is_empty(),
        "stages whose body ran more than once: {twice:?}"
    );
    let pids: HashSet<u32> = lines.iter().map(|l| l.pid).collect();
    assert!(pids.len() > 1, "the work was shared: {pids:?}");
    nothing_left_over(sql).await;
    scenario.finish().await;
}

/// The workers' connections are terminated again and again while 200 runs execute: every run completes,
/// no body runs again after it finished, and once the terminations stop nothing stays stranded longer
/// than a lease period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_connections_lose_and_repeat_nothing() {
    let Some(scenario) = Scenario::postgres(module_path!()).await else {
        return;
    };
    let (db, kernel, sql) = (&scenario.db, &scenario.kernel, &scenario.sql);
    let runs = db.create_runs(kernel, "fault-diamond", 200, 5).await;
    let settings = WorkerSettings::default();
    let workers: Vec<Worker> = (0..2)
        .map(|n| Worker::start(db, &format!("worker-{n}"), &settings))
        .collect();
    let Sql::Postgres(pool) = sql else {
        unreachable!("a PostgreSQL test")
    };
    let mut terminated = 0_i64;
    let begun = Instant::now();
    while begun.elapsed() < Duration::from_secs(8) {
        let killed: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'fault-worker' AND pid <> pg_backend_pid()",
        )
        .fetch_one(pool)
        .await
        .expect("terminate the workers' connections");
        terminated += killed;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let stopped_at = Instant::now();
    // From now on no job may stay leased without its lease being refreshed for longer than a lease
    // period (2 s), plus one maintenance tick (300 ms) and slack for this machine.
    eventually(
        Duration::from_secs(120),
        "every run completing, nothing stranded",
        || async {
            let stranded: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM job_queue WHERE status = 'RUNNING' \
             AND \"lockedAt\" < (now() AT TIME ZONE 'UTC') - interval '3500 milliseconds'",
            )
            .fetch_one(pool)
            .await
            .expect("look for stranded jobs");
            assert_eq!(
                stranded, 0,
                "jobs leased but not worked on for over a lease period"
            );
            let completed = sql.count("workflow_runs", "COMPLETED").await as usize;
            (completed == runs.len()).then_some(())
        },
    )
    .await;
    let settled_in = stopped_at.elapsed();
    for worker in workers {
        worker.stop().await;
    }
    assert!(terminated > 10, "connections were cut ({terminated})");
    let lines = body_lines(&db.body_log());
    assert_eq!(body_counts(&lines, "end").len(), runs.len() * 4);
    // A body whose lease was lost mid-way may run again; one that finished never does.
    let mut finished = HashSet::new();
    for line in &lines {
        let stage = (line.run_id.clone(), line.stage_id.clone());
        match line.event.as_str() {
            "start" => assert!(
                !finished.contains(&stage),
                "{stage:?} ran again after it finished"
            ),
            _ => {
                finished.insert(stage);
            }
        }
    }
    nothing_left_over(sql).await;
    eprintln!("settled {settled_in:?} after the last termination ({terminated} connections cut)");
    scenario.finish().await;
}

/// A stage that works longer than the stuck-run threshold, under a live lease, is left alone: it
/// completes on its first attempt and its run is not failed or re-enqueued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_long_stage_is_never_reaped() {
    let Some(scenario) = Scenario::postgres(module_path!()).await else {
        return;
    };
    let (db, kernel, sql) = (&scenario.db, &scenario.kernel, &scenario.sql);
    let settings = WorkerSettings {
        stuck_ms: Some(3_000),
        ..WorkerSettings::default()
    };
    // Twice the stuck threshold, with no write to the run in between.
    let run = db
        .create_runs(kernel, "fault-slow", 1, 6_000)
        .await
        .remove(0);
    let worker = Worker::start(db, "patient", &settings);
    all_completed(sql, 1, Duration::from_secs(60)).await;
    worker.stop().await;
    let lines = body_lines(&db.body_log());
    assert_eq!(
        lines.iter().map(|l| l.event.as_str()).collect::<Vec<_>>(),
        ["start", "end"],
        "the stage ran once, undisturbed"
    );
    assert_eq!(sql.stage(&run, "slow").await.0, "COMPLETED");
    assert_eq!(sql.jobs(&run, "slow").await, [("COMPLETED".to_owned(), 1)]);
    nothing_left_over(sql).await;
    scenario.finish().await;
}

/// SIGTERM while a stage runs: the worker lets it finish, records it, and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stage_finishes_the_stage_and_exits_0() {
    let Some(scenario) = Scenario::postgres(module_path!()).await else {
        return;
    };
    let (db, kernel, sql) = (&scenario.db, &scenario.kernel, &scenario.sql);
    let run = db
        .create_runs(kernel, "fault-slow", 1, 1_500)
        .await
        .remove(0);
    let worker = Worker::start(db, "stopping", &WorkerSettings::default());
    let pid = worker.pid;
    db.started_in(pid).await;
    worker.sigterm();
    let status = worker.wait(Duration::from_secs(30)).await;
    assert!(
        status.success(),
        "the worker exits 0 after a graceful stop: {status}"
    );
    let lines = body_lines(&db.body_log());
    assert!(
        lines.iter().any(|l| l.event == "end" && l.pid == pid),
        "the stage in flight finished in the stopping worker: {lines:?}"
    );
    assert_eq!(sql.stage(&run, "slow").await.0, "COMPLETED");
    assert_eq!(sql.jobs(&run, "slow").await, [("COMPLETED".to_owned(), 1)]);
    assert_eq!(sql.count("workflow_runs", "COMPLETED").await, 1);
    scenario.finish().await;
}

/// A worker whose heartbeat is too slow for its lease refuses to start, naming both settings (before it
/// touches the database).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_lease_is_refused_at_start() {
    let db = support::Database::sqlite();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_fault-worker"))
        .args(["--database-url", &db.url, "--worker-id", "careless"])
        .args(["--heartbeat-ms", "5000", "--stale-lease-ms", "6000"])
        .output()
        .expect("the worker runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "job_heartbeat_interval (5s) must be at most a third of stale_lease_threshold (6s)"
        ),
        "{stderr}"
    );
    assert!(
        !db.dir.path().join("faults.db").exists(),
        "nothing was opened"
    );
}

/// One worker process at concurrency 16 on a SQLite file drains 200 diamond runs: every body once,
/// nothing left over, no stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_at_concurrency_16_completes() {
    let scenario = Scenario::sqlite().await;
    let (db, kernel, sql) = (&scenario.db, &scenario.kernel, &scenario.sql);
    let runs = db.create_runs(kernel, "fault-diamond", 200, 1).await;
    let settings = WorkerSettings {
        concurrency: 16,
        ..WorkerSettings::default()
    };
    let worker = Worker::start(db, "sqlite-16", &settings);
    all_completed(sql, runs.len(), Duration::from_secs(120)).await;
    worker.stop().await;
    let ends = body_counts(&body_lines(&db.body_log()), "end");
    assert_eq!(ends.len(), runs.len() * 4);
    assert!(ends.values().all(|n| *n == 1), "every body ran once");
    nothing_left_over(sql).await;
    scenario.finish().await;
}
