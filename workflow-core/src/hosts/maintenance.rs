//! The maintenance tick (reference §9.1 `runMaintenanceTick`): claim pending runs, poll due suspended
//! stages (resumed runs are transitioned with their stage), release stale leases, flush the outbox, reap
//! stuck runs. Each step runs even if an earlier one failed. A worker host does the first, second and
//! fourth step as soon as there is work; the tick is their fallback for work other engines made.

use super::config::HostConfig;
use crate::kernel::{
    Kernel, LeaseReapStale, OutboxFlush, RunClaimPending, RunReapStuck, StagePollSuspended,
};
use serde::{Deserialize, Serialize};

/// What one tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TickReport {
    /// Runs claimed.
    pub claimed: usize,
    /// Suspended stages polled.
    pub suspended_checked: usize,
    /// Suspended stages completed.
    pub resumed: usize,
    /// Stale leases released.
    pub stale_released: usize,
    /// Jobs failed because their lease went stale on their last attempt.
    pub stale_failed: usize,
    /// Events delivered.
    pub events_flushed: usize,
    /// Stuck runs failed, re-enqueued or advanced.
    pub stuck_reaped: usize,
    /// Steps that failed (each is logged).
    pub errors: usize,
}

/// Runs one maintenance tick.
pub async fn run_maintenance_tick(kernel: &Kernel, config: &HostConfig) -> TickReport {
    let mut report = TickReport::default();
    let mut failed = |step: &str, error: &dyn std::fmt::Display| {
        tracing::error!(step, %error, "maintenance step failed");
        report.errors += 1;
    };
    let claim = RunClaimPending {
        worker_id: config.worker_id.clone(),
        max_claims: Some(config.max_claims_per_tick),
    };
    match kernel.dispatch(claim).await {
        Ok(claimed) => report.claimed = claimed.claimed.len(),
        Err(error) => failed("run.claimPending", &error),
    }
    match kernel
        .dispatch(StagePollSuspended {
            max_checks: Some(config.max_suspended_checks_per_tick),
        })
        .await
    {
        Ok(polled) => {
            report.suspended_checked = polled.checked;
            report.resumed = polled.resumed;
        }
        Err(error) => failed("stage.pollSuspended", &error),
    }
    match kernel
        .dispatch(LeaseReapStale {
            stale_threshold: config.stale_lease_threshold,
        })
        .await
    {
        Ok(reaped) => {
            report.stale_released = reaped.released;
            report.stale_failed = reaped.failed;
        }
        Err(error) => failed("lease.reapStale", &error),
    }
    match kernel
        .dispatch(OutboxFlush {
            max_events: Some(config.max_outbox_flush_per_tick),
        })
        .await
    {
        Ok(flushed) => report.events_flushed = flushed.published,
        Err(error) => failed("outbox.flush", &error),
    }
    match kernel
        .dispatch(RunReapStuck {
            stuck_threshold: config.stuck_threshold(),
        })
        .await
    {
        Ok(reaped) => report.stuck_reaped = reaped.failed + reaped.requeued + reaped.advanced,
        Err(error) => failed("run.reapStuck", &error),
    }
    report
}
