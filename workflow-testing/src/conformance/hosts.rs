//! The worker and serverless hosts (reference §9).

use super::fixtures::{release_gate, wait_until_gated};
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::hosts::{HostConfig, ServerlessHost, WaitOptions, WorkerHost};
use workflow_core::kernel::RunCreate;
use workflow_core::ports::Status;

fn fast(h: &Harness, concurrency: usize) -> HostConfig {
    HostConfig {
        concurrency,
        orchestration_interval: Duration::from_millis(20),
        job_poll_interval: Duration::from_millis(20),
        ..h.host.clone()
    }
}

async fn wait_finished(h: &Harness, run_ids: &[workflow_core::ids::RunId]) {
    let waited = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let mut done = true;
            for id in run_ids {
                done &= h.run(id).await.status.is_terminal();
            }
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the runs did not finish");
}

/// A worker with concurrency 2 runs several workflows to completion.
pub async fn a_worker_host_runs_workflows_to_completion(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let runs = vec![
        h.create("conformance-linear", json!({ "value": 1 })).await,
        h.create("conformance-fanout", json!({ "value": 2 })).await,
        h.create("conformance-parallel-end", json!({ "value": 3 }))
            .await,
    ];
    let host = WorkerHost::new(h.kernel.clone(), fast(&h, 2));
    assert!(host.start().await.unwrap());
    assert!(!host.start().await.unwrap(), "start is idempotent");
    wait_finished(&h, &runs).await;
    assert!(host.stop().await);
    assert!(!host.is_running().await);
    for id in &runs {
        assert_eq!(h.run(id).await.status, Status::Completed);
    }
    let stats = host.stats().await;
    assert_eq!(
        (
            stats.jobs_processed,
            stats.jobs_completed,
            stats.jobs_failed
        ),
        (10, 10, 0)
    );
    assert!(stats.orchestration_ticks >= 1);
}

/// Stopping a worker lets the stage in flight finish and record its outcome.
pub async fn stopping_a_worker_lets_in_flight_stages_finish(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-linear", json!({ "gate": true }))
        .await;
    let host = WorkerHost::new(h.kernel.clone(), fast(&h, 1));
    host.start().await.unwrap();
    wait_until_gated(&run_id).await;
    let stopping = tokio::spawn({
        let host = host.clone();
        async move { host.stop().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !stopping.is_finished(),
        "stop waits for the stage in flight"
    );
    release_gate(&run_id);
    assert!(stopping.await.unwrap());
    assert_eq!(h.stage(&run_id, "first").await.status, Status::Completed);
    let second = h.stage(&run_id, "second").await;
    assert_eq!(
        second.status,
        Status::Pending,
        "nothing new starts after stop"
    );
}

/// The serverless host claims in a tick and processes jobs on demand, delivering their events.
pub async fn the_serverless_host_processes_jobs_on_demand(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h.create("conformance-linear", json!({})).await;
    let host = ServerlessHost::new(h.kernel.clone(), h.host.clone()).unwrap();
    assert_eq!(
        host.process_available_jobs(5).await.unwrap().processed,
        0,
        "nothing before the claim"
    );
    let tick = host.run_maintenance_tick().await;
    assert_eq!((tick.claimed, tick.errors, tick.events_flushed), (1, 0, 2));
    let processed = host.process_available_jobs(10).await.unwrap();
    assert_eq!(
        (processed.processed, processed.succeeded, processed.failed),
        (3, 3, 0)
    );
    assert_eq!(h.run(&run_id).await.status, Status::Completed);
    let outbox = h.outbox(&run_id).await;
    assert_eq!(outbox.len(), 11);
    assert!(
        outbox.iter().all(|e| e.published_at.is_some()),
        "the jobs' events are delivered with them"
    );
    assert_eq!(host.run_maintenance_tick().await.events_flushed, 0);
    let misconfigured = HostConfig {
        concurrency: 0,
        ..h.host.clone()
    };
    let error = ServerlessHost::new(h.kernel.clone(), misconfigured)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("concurrency is 0"), "{error}");
}

/// `run_and_wait` creates the run, runs the host and summarizes the run.
pub async fn run_and_wait_summarizes_the_run(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let host = WorkerHost::new(h.kernel.clone(), fast(&h, 1));
    let mut changes = 0;
    let options = WaitOptions {
        poll_interval: Duration::from_millis(5),
        timeout: Some(Duration::from_secs(20)),
    };
    let summary = host
        .run_and_wait(
            RunCreate::new("wait-1", "conformance-parallel-end", json!({ "value": 2 })),
            options,
            |_| changes += 1,
        )
        .await
        .unwrap();
    assert_eq!(summary.status, Status::Completed);
    assert_eq!(summary.output, Some(json!({ "left": 40, "right": "#4" })));
    let typed: (i64, String) = summary.typed_output(super::fixtures::ParallelEnd).unwrap();
    assert_eq!(typed, (40, "#4".to_owned()));
    assert_eq!(summary.stages.len(), 3);
    assert!(summary.stages.iter().all(|s| s.status == Status::Completed));
    assert!(changes >= 1);
    assert!(
        !host.is_running().await,
        "the host stops when run_and_wait started it"
    );
}

/// `run_until_finished` waits for an existing run and reports an unknown one by id.
pub async fn run_until_finished_waits_for_an_existing_run(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let host = WorkerHost::new(h.kernel.clone(), fast(&h, 1));
    let options = WaitOptions {
        poll_interval: Duration::from_millis(5),
        timeout: Some(Duration::from_secs(20)),
    };
    let run_id = h.create("conformance-linear", json!({ "value": 1 })).await;
    let summary = host
        .run_until_finished(&run_id, options.clone(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        (summary.run_id.as_str(), summary.status),
        (run_id.as_str(), Status::Completed)
    );
    assert!(!host.is_running().await);

    let error = host
        .run_until_finished("no-such-run", options, |_| {})
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "Run no-such-run not found");
    assert!(
        !host.is_running().await,
        "the host stops after a failed wait"
    );
}

/// **DESIGN §5.10** — a worker does not wait for its tick: with the maintenance interval and the job poll
/// interval at an hour, a new run is claimed and executed at once and its events reach the sink right
/// after their commits.
pub async fn design_difference_10_work_is_taken_without_waiting_for_a_tick(
    factory: &dyn BackendFactory,
) {
    let h = Harness::new(factory).await;
    let config = HostConfig {
        orchestration_interval: Duration::from_secs(3600),
        job_poll_interval: Duration::from_secs(3600),
        concurrency: 2,
        ..h.host.clone()
    };
    let host = WorkerHost::new(h.kernel.clone(), config);
    host.start().await.unwrap();
    // Let the loops settle into their waits, so the work below can only be found by being woken.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let runs = vec![
        h.create("conformance-linear", json!({ "value": 1 })).await,
        h.create("conformance-fanout", json!({ "value": 2 })).await,
    ];
    wait_finished(&h, &runs).await;
    let delivered = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let envelopes = h.events.envelopes();
            let done = runs.iter().all(|run| {
                envelopes
                    .iter()
                    .any(|e| &e.workflow_run_id == run && e.event_type == "workflow:completed")
            });
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    host.stop().await;
    assert!(delivered.is_ok(), "the events were relayed without a tick");
    for id in &runs {
        assert_eq!(h.run(id).await.status, Status::Completed);
    }
}
