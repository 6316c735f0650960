//! The latency samples of one repetition on an idle worker with the default `HostConfig`: run create →
//! first stage start, stage completion → next stage start, `nextPollAt` → check, event → delivery.

use crate::drive::claim_all;
use crate::probe;
use crate::workload::{Probed, Token};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use workflow_core::kernel::{Kernel, RunCreate};
use workflow_core::ports::{EventEnvelope, EventError, EventSink};
use workflow_core::prelude::Workflow;

/// An event sink that records how long after its `occurredAt` each event arrived, in ms.
#[derive(Default)]
pub struct TimingSink {
    delays: Mutex<Vec<f64>>,
}

impl TimingSink {
    /// Delivery delays so far, in ms.
    pub fn take(&self) -> Vec<f64> {
        std::mem::take(&mut *self.delays.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// How many events arrived so far.
    pub fn count(&self) -> usize {
        self.delays.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[async_trait]
impl EventSink for TimingSink {
    async fn emit(&self, event: &EventEnvelope) -> Result<(), EventError> {
        let now = chrono::Utc::now();
        let delay = (now - event.occurred_at)
            .num_microseconds()
            .unwrap_or(i64::MAX) as f64
            / 1000.0;
        self.delays
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(delay);
        Ok(())
    }
}

/// Samples gathered within a budget.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    /// The values, in ms.
    pub values: Vec<f64>,
    /// Whether the budget ran out before enough samples were taken.
    pub cut_short: bool,
}

/// Waits until `ready` returns `Some`, polling every 200 µs, until `deadline`.
async fn wait_for<T>(deadline: Instant, mut ready: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

async fn create_probed(kernel: &Kernel, n: u64) -> Result<workflow_core::ids::RunId, String> {
    let command = RunCreate::of(
        format!("bench-latency-{}", workflow_core::ids::uuid()),
        Probed,
        &Token { n },
    );
    kernel
        .dispatch(command)
        .await
        .map(|created| created.workflow_run_id)
        .map_err(|e| format!("run.create failed: {e}"))
}

/// Run create → first stage start, one run at a time (each run finishes before the next is created).
pub async fn create_to_first_stage(kernel: &Kernel, wanted: usize, budget: Duration) -> Samples {
    let deadline = Instant::now() + budget;
    let mut samples = Samples::default();
    let first = Probed::definition().stage_ids()[0].to_owned();
    let last = Probed::definition().stage_ids()[4].to_owned();
    for n in 0..wanted {
        let created_at = Instant::now();
        let Ok(run) = create_probed(kernel, n as u64).await else {
            samples.cut_short = true;
            break;
        };
        let Some(started) = wait_for(deadline, || probe::started(&run, &first)).await else {
            samples.cut_short = true;
            break;
        };
        samples
            .values
            .push((started - created_at).as_secs_f64() * 1000.0);
        if wait_for(deadline, || probe::finished(&run, &last))
            .await
            .is_none()
        {
            samples.cut_short = samples.values.len() < wanted;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    samples
}

/// Stage completion → next stage start, over runs claimed as soon as they are created.
pub async fn hand_offs(kernel: &Kernel, wanted: usize, budget: Duration) -> Samples {
    let deadline = Instant::now() + budget;
    let ids = Probed::definition().stage_ids();
    let mut samples = Samples::default();
    let mut n = 0;
    while samples.values.len() < wanted {
        n += 1;
        let Ok(run) = create_probed(kernel, n).await else {
            samples.cut_short = true;
            break;
        };
        if claim_all(kernel, deadline.saturating_duration_since(Instant::now()))
            .await
            .is_err()
        {
            samples.cut_short = true;
            break;
        }
        for pair in ids.windows(2) {
            let Some(started) = wait_for(deadline, || probe::started(&run, pair[1])).await else {
                samples.cut_short = true;
                return samples;
            };
            if let Some(finished) = probe::finished(&run, pair[0]) {
                samples
                    .values
                    .push(started.saturating_duration_since(finished).as_secs_f64() * 1000.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    samples
}

/// `nextPollAt` → the check of a stage suspended with `poll_every(200ms)`, in batches of ten runs.
pub async fn poll_delays(kernel: &Kernel, wanted: usize, budget: Duration) -> Samples {
    let deadline = Instant::now() + budget;
    let mut samples = Samples::default();
    let mut n = 0;
    while samples.values.len() < wanted {
        let batch = (wanted - samples.values.len()).min(10);
        let mut runs = Vec::new();
        for _ in 0..batch {
            n += 1;
            let command = RunCreate::new(
                format!("bench-poll-{}", workflow_core::ids::uuid()),
                "bench-polled",
                serde_json::json!({ "n": n }),
            );
            match kernel.dispatch(command).await {
                Ok(created) => runs.push(created.workflow_run_id),
                Err(_) => {
                    samples.cut_short = true;
                    return samples;
                }
            }
        }
        if claim_all(kernel, deadline.saturating_duration_since(Instant::now()))
            .await
            .is_err()
        {
            samples.cut_short = true;
            return samples;
        }
        for run in &runs {
            match wait_for(deadline, || probe::check_lateness(run)).await {
                Some(late_micros) => samples.values.push(late_micros as f64 / 1000.0),
                None => {
                    samples.cut_short = true;
                    return samples;
                }
            }
        }
    }
    samples
}

/// The delivery delays of every event so far, after waiting (until `deadline`) for the `expected`-th.
pub async fn deliveries(sink: &TimingSink, expected: usize, deadline: Instant) -> (Samples, usize) {
    let arrived = wait_for(deadline, || (sink.count() >= expected).then_some(())).await;
    let values = sink.take();
    let missing = expected.saturating_sub(values.len());
    (
        Samples {
            cut_short: arrived.is_none(),
            values,
        },
        missing,
    )
}
