//! [`FakeClock`].

use chrono::{DateTime, Utc};
use std::sync::Mutex;
use std::time::Duration;
use workflow_core::ports::Clock;

/// A clock that only moves when told to. Starts at 2025-01-01T00:00:00Z.
///
/// ```
/// use std::time::Duration;
/// use workflow_core::ports::Clock;
/// use workflow_testing::FakeClock;
///
/// let clock = FakeClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(90));
/// assert_eq!((clock.now() - start).num_seconds(), 90);
/// ```
#[derive(Debug)]
pub struct FakeClock {
    now: Mutex<DateTime<Utc>>,
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeClock {
    /// A clock at 2025-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::at(DateTime::from_timestamp(1_735_689_600, 0).expect("a valid timestamp"))
    }

    /// A clock at `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        FakeClock {
            now: Mutex::new(workflow_core::time::truncate_ms(at)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = workflow_core::time::add(*now, by);
    }

    /// Sets the clock.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = workflow_core::time::truncate_ms(at);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}
