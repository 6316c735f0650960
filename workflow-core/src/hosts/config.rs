//! [`HostConfig`] (defaults of reference §6.6) and its validation.

use crate::kernel::{MAX_KEY_BYTES, RetryPolicy};
use std::time::Duration;

/// Settings of a host. Defaults follow the TypeScript hosts; [`HostConfig::validate`] refuses settings
/// that contradict each other (hosts check them when they start).
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// This worker's id (`job_queue.workerId`, claim records). Non-empty, no NUL byte.
    pub worker_id: String,
    /// Jobs executed at once by a worker host (default 1); the host leases up to this many in one claim.
    pub concurrency: usize,
    /// Maintenance tick interval (10 s): stale leases, stuck runs, and the fallback claim, poll and relay
    /// for work other engines made without waking this worker.
    pub orchestration_interval: Duration,
    /// Longest wait for new jobs when the queue is empty (1 s); the store wakes the worker earlier when
    /// jobs are enqueued (in-process, or with PostgreSQL `LISTEN`).
    pub job_poll_interval: Duration,
    /// Pause after a store error in a host loop (5 s).
    pub error_backoff: Duration,
    /// A lease not refreshed for this long is released (5 min). At least three heartbeat intervals.
    pub stale_lease_threshold: Duration,
    /// A run nothing works on for this long is examined by the stuck-run reaper; default
    /// `max(3 × stale lease, 5 min)` = 15 min. Longer than the stale lease threshold.
    pub stuck_run_threshold: Option<Duration>,
    /// Runs claimed per claim (10).
    pub max_claims_per_tick: usize,
    /// Suspended stages polled per poll (10).
    pub max_suspended_checks_per_tick: usize,
    /// Outbox events delivered per relay pass (100).
    pub max_outbox_flush_per_tick: usize,
    /// Lease refresh while a job runs (60 s).
    pub job_heartbeat_interval: Duration,
    /// How long [`WorkerHost::stop`](super::WorkerHost::stop) waits for in-flight stages (30 s); those
    /// still running then are ended as failed and retryable (their jobs go back to the queue).
    pub shutdown_grace: Duration,
    /// Retry backoff of failed stages.
    pub retry: RetryPolicy,
}

impl HostConfig {
    /// Defaults for worker `worker_id`.
    pub fn new(worker_id: impl Into<String>) -> Self {
        HostConfig {
            worker_id: worker_id.into(),
            concurrency: 1,
            orchestration_interval: Duration::from_secs(10),
            job_poll_interval: Duration::from_secs(1),
            error_backoff: Duration::from_secs(5),
            stale_lease_threshold: Duration::from_secs(300),
            stuck_run_threshold: None,
            max_claims_per_tick: 10,
            max_suspended_checks_per_tick: 10,
            max_outbox_flush_per_tick: 100,
            job_heartbeat_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }

    /// The stuck-run threshold in effect.
    pub fn stuck_threshold(&self) -> Duration {
        self.stuck_run_threshold
            .unwrap_or_else(|| (self.stale_lease_threshold * 3).max(Duration::from_secs(300)))
    }

    /// Checks that the settings can work together; every problem is listed with the fields involved.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workflow_core::hosts::HostConfig;
    ///
    /// let config = HostConfig {
    ///     stale_lease_threshold: Duration::from_secs(10),
    ///     ..HostConfig::new("worker-1")
    /// };
    /// let error = config.validate().unwrap_err().to_string();
    /// assert!(error.contains("job_heartbeat_interval (60s) must be at most a third of stale_lease_threshold (10s)"));
    /// ```
    pub fn validate(&self) -> Result<(), HostConfigError> {
        let mut problems = Vec::new();
        if self.worker_id.trim().is_empty() {
            problems.push("worker_id is empty".to_owned());
        } else if self.worker_id.contains('\0') || self.worker_id.len() > MAX_KEY_BYTES {
            problems.push(format!(
                "worker_id must have no NUL byte and at most {MAX_KEY_BYTES} bytes"
            ));
        }
        if self.concurrency == 0 {
            problems.push("concurrency is 0: the host would never run a job".to_owned());
        }
        for (name, value) in [
            ("orchestration_interval", self.orchestration_interval),
            ("job_poll_interval", self.job_poll_interval),
            ("error_backoff", self.error_backoff),
            ("job_heartbeat_interval", self.job_heartbeat_interval),
            ("stale_lease_threshold", self.stale_lease_threshold),
        ] {
            if value.is_zero() {
                problems.push(format!("{name} is 0"));
            }
        }
        if !self.job_heartbeat_interval.is_zero()
            && self.job_heartbeat_interval * 3 > self.stale_lease_threshold
        {
            problems.push(format!(
                "job_heartbeat_interval ({:?}) must be at most a third of stale_lease_threshold ({:?}), or live \
                 leases are released as stale and their jobs run twice",
                self.job_heartbeat_interval, self.stale_lease_threshold
            ));
        }
        if self.stuck_threshold() <= self.stale_lease_threshold {
            problems.push(format!(
                "stuck_run_threshold ({:?}) must be longer than stale_lease_threshold ({:?}), so that a run whose \
                 worker died is re-leased before it is judged stuck",
                self.stuck_threshold(),
                self.stale_lease_threshold
            ));
        }
        for (name, value) in [
            ("max_claims_per_tick", self.max_claims_per_tick),
            (
                "max_suspended_checks_per_tick",
                self.max_suspended_checks_per_tick,
            ),
            ("max_outbox_flush_per_tick", self.max_outbox_flush_per_tick),
        ] {
            if value == 0 {
                problems.push(format!("{name} is 0"));
            }
        }
        if self.retry.max_delay < self.retry.base {
            problems.push(format!(
                "retry.max_delay ({:?}) is shorter than retry.base ({:?})",
                self.retry.max_delay, self.retry.base
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(HostConfigError {
                worker_id: self.worker_id.clone(),
                problems,
            })
        }
    }
}

/// Host settings that cannot work together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid host config for worker {worker_id:?}: {}", problems.join("; "))]
pub struct HostConfigError {
    /// The `worker_id` of the refused config.
    pub worker_id: String,
    /// Each problem, naming the fields involved.
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_threshold_defaults_to_three_stale_leases() {
        let config = HostConfig::new("w");
        assert_eq!(config.stuck_threshold(), Duration::from_secs(900));
        let short = HostConfig {
            stale_lease_threshold: Duration::from_secs(10),
            job_heartbeat_interval: Duration::from_secs(2),
            ..HostConfig::new("w")
        };
        assert_eq!(short.stuck_threshold(), Duration::from_secs(300));
        assert!(short.validate().is_ok());
    }

    #[test]
    fn contradicting_settings_are_all_named() {
        let config = HostConfig {
            concurrency: 0,
            stale_lease_threshold: Duration::from_secs(30),
            stuck_run_threshold: Some(Duration::from_secs(20)),
            ..HostConfig::new("")
        };
        let error = config.validate().unwrap_err();
        assert_eq!(error.problems.len(), 4, "{error}");
        let text = error.to_string();
        for needle in [
            "worker_id is empty",
            "concurrency is 0",
            "job_heartbeat_interval (60s) must be at most a third of stale_lease_threshold (30s)",
            "stuck_run_threshold (20s) must be longer than stale_lease_threshold (30s)",
        ] {
            assert!(text.contains(needle), "{text} lacks {needle}");
        }
        assert!(HostConfig::new("worker-1").validate().is_ok());
    }
}
