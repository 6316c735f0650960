//! The eleven commands of the kernel, each a struct with a typed result.

mod cancel;
mod claim_pending;
mod job_execute;
mod job_executed_wire;
mod job_outcome;
mod job_prepare;
mod maintenance;
mod poll_resolve;
mod poll_suspended;
mod reap_stuck;
mod rerun;
mod run_create;
pub(crate) mod transition;

pub use cancel::{RunCancel, RunCancelled};
pub use claim_pending::{ClaimedRun, RunClaimPending, RunsClaimed};
pub use job_execute::{JobExecute, JobExecuted, JobOutcome};
pub(crate) use job_outcome::Outcome;
pub use maintenance::{
    DlqReplayed, LeaseReapStale, LeasesReaped, OutboxFlush, OutboxFlushed, PluginReplayDlq,
};
pub use poll_suspended::{StagePollSuspended, SuspendedPolled};
pub use reap_stuck::{RunReapStuck, StuckRunsReaped};
pub use rerun::{RunRerun, RunRerunFrom};
pub use run_create::{RunCreate, RunCreated};
pub use transition::{RunTransition, RunTransitioned, TransitionAction};
