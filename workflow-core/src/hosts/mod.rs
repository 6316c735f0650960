//! Hosts drive the kernel: [`WorkerHost`] (a long-running tokio worker) and [`ServerlessHost`] (one bounded
//! step per call). Both execute leased jobs with [`execute_job`] and run the same [`run_maintenance_tick`].

mod config;
mod job_runner;
mod loops;
mod maintenance;
mod run_and_wait;
mod serverless;
mod worker;

pub use config::{HostConfig, HostConfigError};
pub use job_runner::{JobRun, execute_job};
pub use maintenance::{TickReport, run_maintenance_tick};
pub use run_and_wait::{RunSummary, StageSummary, WaitError, WaitOptions};
pub use serverless::{ProcessedJobs, ServerlessHost};
pub use worker::{HostStats, WorkerHost, shutdown_signal};
