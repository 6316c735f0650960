//! [`HostConfig`] (defaults of reference §6.6) and [`RetryPolicy`].

use std::time::Duration;

/// How failed jobs are retried: `base × 2^attempt`, capped at `max_delay`, with equal jitter (the delay
/// is drawn from its upper half) so that workers failing together do not retry together. Applies to every
/// backend, in-memory included.
///
/// ```
/// use std::time::Duration;
/// use workflow_core::hosts::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// let delay = policy.delay(2); // after the second attempt: 4 s, jittered to 2..=4 s
/// assert!(delay >= Duration::from_secs(2) && delay <= Duration::from_secs(4));
/// assert!(policy.delay(40) <= policy.max_delay);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay unit (1 s: 2 s after attempt 1, 4 s after attempt 2, ...).
    pub base: Duration,
    /// The longest delay (5 min).
    pub max_delay: Duration,
    /// Whether to jitter (on by default).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The un-jittered delay after `attempt` deliveries: `min(max_delay, base × 2^attempt)`.
    pub fn ceiling(&self, attempt: i32) -> Duration {
        let exponent = attempt.clamp(0, 30) as u32;
        self.base
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay)
    }

    /// The delay before the next delivery after `attempt` deliveries.
    pub fn delay(&self, attempt: i32) -> Duration {
        let ceiling = self.ceiling(attempt);
        if !self.jitter || ceiling.is_zero() {
            return ceiling;
        }
        let millis = ceiling.as_millis() as u64;
        Duration::from_millis(millis / 2 + rand::random_range(0..=millis - millis / 2))
    }
}

/// Settings of a host. Defaults follow the TypeScript hosts.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// This worker's id (job leases, claim records).
    pub worker_id: String,
    /// Jobs executed at once by a worker host (default 1).
    pub concurrency: usize,
    /// Maintenance tick interval (10 s).
    pub orchestration_interval: Duration,
    /// Longest wait for new jobs when the queue is empty (1 s); transports that can wake workers return
    /// earlier.
    pub job_poll_interval: Duration,
    /// Pause after a queue error (5 s).
    pub error_backoff: Duration,
    /// A lease not refreshed for this long is released (5 min).
    pub stale_lease_threshold: Duration,
    /// A run without writes for this long is stuck; default `max(3 × stale lease, 5 min)` = 15 min.
    pub stuck_run_threshold: Option<Duration>,
    /// Runs claimed per tick (10).
    pub max_claims_per_tick: usize,
    /// Suspended stages polled per tick (10).
    pub max_suspended_checks_per_tick: usize,
    /// Outbox events delivered per tick (100).
    pub max_outbox_flush_per_tick: usize,
    /// Lease refresh while a job runs (60 s).
    pub job_heartbeat_interval: Duration,
    /// Next poll of a suspended job when the stage gave none (60 s).
    pub suspend_fallback: Duration,
    /// Retry backoff.
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
            suspend_fallback: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    /// The stuck-run threshold in effect.
    pub fn stuck_threshold(&self) -> Duration {
        self.stuck_run_threshold
            .unwrap_or_else(|| (self.stale_lease_threshold * 3).max(Duration::from_secs(300)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_within_bounds() {
        let policy = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        let delays: Vec<u64> = (1..=4).map(|a| policy.delay(a).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16]);
        assert_eq!(policy.delay(20), Duration::from_secs(300));
        let jittered = RetryPolicy::default();
        for attempt in 0..12 {
            let ceiling = jittered.ceiling(attempt);
            for _ in 0..50 {
                let delay = jittered.delay(attempt);
                assert!(
                    delay <= ceiling && delay >= ceiling / 2,
                    "attempt {attempt}: {delay:?} not within {ceiling:?}"
                );
            }
        }
    }

    #[test]
    fn stuck_threshold_defaults_to_three_stale_leases() {
        let config = HostConfig::new("w");
        assert_eq!(config.stuck_threshold(), Duration::from_secs(900));
        let short = HostConfig {
            stale_lease_threshold: Duration::from_secs(10),
            ..HostConfig::new("w")
        };
        assert_eq!(short.stuck_threshold(), Duration::from_secs(300));
    }
}
