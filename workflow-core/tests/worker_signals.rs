//! A worker host stops on SIGTERM and lets the stage in flight finish. In its own test binary because a
//! signal handler is process-wide.

#![cfg(unix)]

use serde_json::json;
use std::time::Duration;
use workflow_core::hosts::{HostConfig, WorkerHost};
use workflow_core::ports::Status;
use workflow_testing::conformance::fixtures::{release_gate, wait_until_gated};
use workflow_testing::conformance::{Harness, InMemoryBackend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_worker_after_in_flight_stages_finish() {
    let h = Harness::new(&InMemoryBackend).await;
    let run_id = h
        .create("conformance-linear", json!({ "gate": true }))
        .await;
    let config = HostConfig {
        orchestration_interval: Duration::from_millis(20),
        ..HostConfig::new("signal-worker")
    };
    let host = WorkerHost::new(h.kernel.clone(), config);
    let running = tokio::spawn({
        let host = host.clone();
        async move { host.run_until_signal().await }
    });
    wait_until_gated(&run_id).await;
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !running.is_finished(),
        "the host waits for the stage in flight"
    );
    release_gate(&run_id);
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the host stopped")
        .unwrap()
        .expect("the settings are valid");
    assert!(!host.is_running().await);
    assert_eq!(h.stage(&run_id, "first").await.status, Status::Completed);
    assert_eq!(
        h.stage(&run_id, "second").await.status,
        Status::Pending,
        "no new job started after the signal"
    );
}
