//! Timing probes written by the probe stages and read by the latency scenario: when a stage body started
//! and ended (monotonic clock), and how late a suspended stage's check came.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

#[derive(Default)]
struct Probes {
    started: HashMap<(String, String), Instant>,
    finished: HashMap<(String, String), Instant>,
    checks: HashMap<String, i64>,
}

static PROBES: LazyLock<Mutex<Probes>> = LazyLock::new(Mutex::default);

fn probes() -> std::sync::MutexGuard<'static, Probes> {
    PROBES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A probe stage's body began.
pub fn stage_started(run_id: &str, stage_id: &str) {
    let now = Instant::now();
    probes()
        .started
        .entry((run_id.to_owned(), stage_id.to_owned()))
        .or_insert(now);
}

/// A probe stage's body is about to return.
pub fn stage_finished(run_id: &str, stage_id: &str) {
    let now = Instant::now();
    probes()
        .finished
        .insert((run_id.to_owned(), stage_id.to_owned()), now);
}

/// A probe check ran `late_micros` after its due time.
pub fn check_happened(run_id: &str, late_micros: i64) {
    probes()
        .checks
        .entry(run_id.to_owned())
        .or_insert(late_micros);
}

/// When the body of `stage_id` in `run_id` first started.
pub fn started(run_id: &str, stage_id: &str) -> Option<Instant> {
    probes()
        .started
        .get(&(run_id.to_owned(), stage_id.to_owned()))
        .copied()
}

/// When the body of `stage_id` in `run_id` last finished.
pub fn finished(run_id: &str, stage_id: &str) -> Option<Instant> {
    probes()
        .finished
        .get(&(run_id.to_owned(), stage_id.to_owned()))
        .copied()
}

/// How late the first check of `run_id`'s suspended stage came, in microseconds.
pub fn check_lateness(run_id: &str) -> Option<i64> {
    probes().checks.get(run_id).copied()
}
