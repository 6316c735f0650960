//! The Prisma `Status` enum shared by runs, stages and jobs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `PENDING | RUNNING | SUSPENDED | COMPLETED | FAILED | CANCELLED | SKIPPED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Waiting to be claimed or executed.
    Pending,
    /// Being executed (runs: claimed and not finished).
    Running,
    /// Waiting on an async-batch stage's external work.
    Suspended,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Stopped by `run.cancel`.
    Cancelled,
    /// Declared by the schema; never written by the engine.
    Skipped,
}

impl Status {
    /// Every status, in declaration order.
    pub const ALL: [Status; 7] = [
        Status::Pending,
        Status::Running,
        Status::Suspended,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
        Status::Skipped,
    ];

    /// The stored text (`"PENDING"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Running => "RUNNING",
            Status::Suspended => "SUSPENDED",
            Status::Completed => "COMPLETED",
            Status::Failed => "FAILED",
            Status::Cancelled => "CANCELLED",
            Status::Skipped => "SKIPPED",
        }
    }

    /// Parses the stored text exactly (as the database enum does).
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// `COMPLETED`, `FAILED` or `CANCELLED`: a run in one of these never changes again (except by rerun).
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_exactly() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(Status::parse("pending"), None);
        assert_eq!(Status::parse("DONE"), None);
    }
}
