//! The serialized form of [`JobExecuted`]: the reference's result (`outcome` is `completed`, `suspended`
//! or `failed`), with `ghost` and `leaseLost` flags for the two ways a job fails without its stage's
//! outcome being recorded.

use super::job_execute::{JobExecuted, JobOutcome};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WireOutcome {
    Completed,
    Suspended,
    Failed,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobExecutedWire {
    outcome: WireOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::js_date::option"
    )]
    next_poll_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ghost: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    lease_lost: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retryable: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::js_date::option"
    )]
    retry_at: Option<DateTime<Utc>>,
}

impl From<JobExecuted> for JobExecutedWire {
    fn from(executed: JobExecuted) -> Self {
        let outcome = match executed.outcome {
            JobOutcome::Completed => WireOutcome::Completed,
            JobOutcome::Suspended => WireOutcome::Suspended,
            _ => WireOutcome::Failed,
        };
        JobExecutedWire {
            outcome,
            output: executed.output,
            error: executed.error,
            next_poll_at: executed.next_poll_at,
            ghost: executed.outcome == JobOutcome::Ghost,
            lease_lost: executed.outcome == JobOutcome::Fenced,
            retryable: executed.retryable,
            retry_at: executed.retry_at,
        }
    }
}

impl TryFrom<JobExecutedWire> for JobExecuted {
    type Error = String;

    fn try_from(wire: JobExecutedWire) -> Result<Self, String> {
        let outcome = match (wire.outcome, wire.ghost, wire.lease_lost) {
            (WireOutcome::Completed, false, false) => JobOutcome::Completed,
            (WireOutcome::Suspended, false, false) => JobOutcome::Suspended,
            (WireOutcome::Failed, false, false) => JobOutcome::Failed,
            (WireOutcome::Failed, true, false) => JobOutcome::Ghost,
            (WireOutcome::Failed, false, true) => JobOutcome::Fenced,
            _ => {
                return Err(
                    "`ghost` and `leaseLost` are set only on a `failed` outcome, never both"
                        .to_owned(),
                );
            }
        };
        Ok(JobExecuted {
            outcome,
            output: wire.output,
            error: wire.error,
            next_poll_at: wire.next_poll_at,
            retryable: wire.retryable,
            retry_at: wire.retry_at,
        })
    }
}
