//! Retries: [`RetryPolicy`] for failed stages (the job's next delivery), and the bounded backoff with
//! which recording a finished stage is retried after transient store errors.

use std::time::Duration;

/// How failed jobs are retried: `base × 2^attempt`, capped at `max_delay`, with equal jitter (the delay
/// is drawn from its upper half) so that workers failing together do not retry together. Applies to every
/// backend, in-memory included.
///
/// ```
/// use std::time::Duration;
/// use workflow_core::kernel::RetryPolicy;
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

/// The pause before the `n`-th retry of a record (1-based): 25 ms doubling to at most 2 s.
pub(crate) fn record_backoff(n: u32) -> Duration {
    Duration::from_millis(25u64.saturating_mul(1 << n.min(7))).min(Duration::from_secs(2))
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
    fn record_backoff_is_short_and_bounded() {
        assert_eq!(record_backoff(1), Duration::from_millis(50));
        assert_eq!(record_backoff(3), Duration::from_millis(200));
        assert_eq!(record_backoff(30), Duration::from_secs(2));
    }
}
