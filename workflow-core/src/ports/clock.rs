//! The [`Clock`] port: the one source of "now" for everything the kernel writes.

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC, at millisecond precision.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock, truncated to milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::time::truncate_ms(Utc::now())
    }
}
