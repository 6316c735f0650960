//! The engine's metrics, recorded through the [`metrics`](https://docs.rs/metrics) facade: nothing is
//! kept unless the application installs a recorder (`wf serve` and `wf worker` install a Prometheus one and
//! serve it at `/metrics`; any `metrics` exporter works).
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `workflow_stages_executed_total` | counter | `outcome` | jobs a host executed, by `JobOutcome` (`completed`, `suspended`, `failed`, `ghost`, `fenced`, `unrecorded`) |
//! | `workflow_stage_duration_seconds` | histogram | `outcome` | wall time of a job in a host: lease to recorded outcome |
//! | `workflow_job_claim_duration_seconds` | histogram | | one claim of jobs by a host (the worker's job loop, the serverless host's `process_available_jobs`) |
//! | `workflow_jobs_claimed_total` | counter | | jobs those claims leased |
//! | `workflow_outbox_lag_seconds` | histogram | | from an event's `occurredAt` to its delivery by the relay |
//! | `workflow_queue_depth` | gauge | `status` | `PENDING`, `RUNNING`, `SUSPENDED` jobs (sampled by `wf`) |
//! | `workflow_runs` | gauge | `status` | runs per status (sampled by `wf`) |

use crate::kernel::JobOutcome;
use std::time::Duration;

/// Counts a job a host executed and records how long it took.
pub(crate) fn job_executed(outcome: JobOutcome, elapsed: Duration) {
    let outcome = match outcome {
        JobOutcome::Completed => "completed",
        JobOutcome::Suspended => "suspended",
        JobOutcome::Failed => "failed",
        JobOutcome::Ghost => "ghost",
        JobOutcome::Fenced => "fenced",
        JobOutcome::Unrecorded => "unrecorded",
    };
    metrics::counter!("workflow_stages_executed_total", "outcome" => outcome).increment(1);
    metrics::histogram!("workflow_stage_duration_seconds", "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// Records one claim of jobs and how many it leased.
pub(crate) fn jobs_claimed(elapsed: Duration, leased: usize) {
    metrics::histogram!("workflow_job_claim_duration_seconds").record(elapsed.as_secs_f64());
    metrics::counter!("workflow_jobs_claimed_total").increment(leased as u64);
}

/// Records the delivery lag of one event.
pub(crate) fn event_delivered(lag: chrono::Duration) {
    let seconds = lag.num_milliseconds().max(0) as f64 / 1000.0;
    metrics::histogram!("workflow_outbox_lag_seconds").record(seconds);
}
