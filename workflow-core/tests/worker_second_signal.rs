//! A second SIGTERM while a worker host waits for its stages ends them at once as failed and retryable:
//! the stage fails with the reason and its job goes back to the queue, to run again elsewhere. In its own
//! test binary because a signal handler is process-wide.

#![cfg(unix)]

use serde_json::json;
use std::time::Duration;
use workflow_core::hosts::{HostConfig, WorkerHost};
use workflow_core::ports::Status;
use workflow_testing::conformance::fixtures::wait_until_gated;
use workflow_testing::conformance::{Harness, InMemoryBackend};

fn sigterm() {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_ends_in_flight_stages_as_retryable_failures() {
    let h = Harness::new(&InMemoryBackend).await;
    let run_id = h
        .create("conformance-linear", json!({ "gate": true }))
        .await;
    let config = HostConfig {
        orchestration_interval: Duration::from_millis(20),
        shutdown_grace: Duration::from_secs(60),
        ..HostConfig::new("signal-worker")
    };
    let host = WorkerHost::new(h.kernel.clone(), config);
    let running = tokio::spawn({
        let host = host.clone();
        async move { host.run_until_signal().await }
    });
    wait_until_gated(&run_id).await;
    sigterm();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !running.is_finished(),
        "the first signal waits for the stage"
    );
    sigterm();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the second signal ends the wait")
        .unwrap()
        .expect("the settings are valid");
    let stage = h.stage(&run_id, "first").await;
    assert_eq!(stage.status, Status::Failed);
    assert!(
        stage
            .error_message
            .as_deref()
            .unwrap_or_default()
            .contains("worker signal-worker stopped before the stage finished"),
        "{:?}",
        stage.error_message
    );
    let job = h.jobs(&run_id).await.remove(0);
    assert_eq!(
        (job.status, job.attempt),
        (Status::Pending, 1),
        "the job is back in the queue, not lost"
    );
    assert_eq!(h.run(&run_id).await.status, Status::Running);
}
