//! The benchmark's smoke run (CI runs it as part of `cargo test --workspace`): every scenario at tiny size
//! finishes and reports. No timing is asserted; the machine is shared and noisy.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a smoke run may take before it counts as hung.
const BUDGET: Duration = Duration::from_secs(300);

#[test]
fn every_scenario_finishes_in_smoke_mode() {
    let postgres = std::env::var_os("WORKFLOW_TEST_REQUIRE_POSTGRES").is_some();
    let mut command = Command::new(env!("CARGO_BIN_EXE_workflow-bench"));
    command.args(["all", "--smoke"]);
    if postgres {
        command.arg("--require-postgres");
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("workflow-bench starts");
    // Read stderr while it runs, so a chatty run cannot fill the pipe and stall.
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BUDGET {
            let _ = child.kill();
            panic!("workflow-bench all --smoke did not finish within {BUDGET:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stderr = reader.join().unwrap();
    assert!(
        status.success(),
        "workflow-bench all --smoke failed: {stderr}"
    );
    let scenarios: &[&str] = if postgres {
        &[
            "limit", "memory", "sqlite", "postgres", "latency", "scale", "rss", "cost",
        ]
    } else {
        &["memory", "sqlite"]
    };
    for scenario in scenarios {
        assert!(
            stderr.contains(&format!("== {scenario} done")),
            "scenario {scenario} did not report: {stderr}"
        );
    }
}
