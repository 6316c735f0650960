//! [`ServerlessHost`] (reference §9.3): stateless single-invocation methods for queue-driven or cron-driven
//! environments.

use super::config::{HostConfig, HostConfigError};
use super::job_runner::{JobRun, execute_job};
use super::maintenance::{TickReport, run_maintenance_tick};
use crate::kernel::JobOutcome;
use crate::kernel::{Kernel, KernelError, LeasedJob, OutboxFlush};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// Counts of [`ServerlessHost::process_available_jobs`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedJobs {
    /// Jobs handled.
    pub processed: usize,
    /// Completed or suspended.
    pub succeeded: usize,
    /// Failed, ghost or fenced.
    pub failed: usize,
}

/// A host without loops: each method does one bounded piece of work and returns.
#[derive(Clone)]
pub struct ServerlessHost {
    kernel: Kernel,
    config: HostConfig,
    never: CancellationToken,
}

impl ServerlessHost {
    /// A host over `kernel`; fails when the settings contradict each other (see
    /// [`HostConfig::validate`]).
    pub fn new(kernel: Kernel, config: HostConfig) -> Result<Self, HostConfigError> {
        config.validate()?;
        Ok(ServerlessHost {
            kernel,
            config,
            never: CancellationToken::new(),
        })
    }

    /// Executes one job this worker has leased (from [`Kernel::lease_jobs`]), then delivers the events
    /// its commit appended.
    pub async fn handle_job(&self, job: LeasedJob) -> JobRun {
        let run = execute_job(&self.kernel, &self.config, job, &self.never).await;
        self.flush().await;
        run
    }

    /// Executes up to `max_jobs` jobs one after another (leasing as many as it may at each claim, so jobs
    /// the first ones enqueue are taken too).
    pub async fn process_available_jobs(
        &self,
        max_jobs: usize,
    ) -> Result<ProcessedJobs, KernelError> {
        let mut counts = ProcessedJobs::default();
        while counts.processed < max_jobs {
            let claim_started = std::time::Instant::now();
            let leased = self
                .kernel
                .lease_jobs(&self.config.worker_id, max_jobs - counts.processed)
                .await?;
            crate::metrics::jobs_claimed(claim_started.elapsed(), leased.len());
            if leased.is_empty() {
                break;
            }
            self.execute_all(leased, &mut counts).await;
        }
        if counts.processed > 0 {
            self.flush().await;
        }
        Ok(counts)
    }

    async fn execute_all(&self, leased: Vec<LeasedJob>, counts: &mut ProcessedJobs) {
        for job in leased {
            let run = execute_job(&self.kernel, &self.config, job, &self.never).await;
            counts.processed += 1;
            match run.outcome {
                JobOutcome::Completed | JobOutcome::Suspended => counts.succeeded += 1,
                JobOutcome::Failed
                | JobOutcome::Ghost
                | JobOutcome::Fenced
                | JobOutcome::Unrecorded => counts.failed += 1,
            }
        }
    }

    /// Runs one maintenance tick (for a cron trigger).
    pub async fn run_maintenance_tick(&self) -> TickReport {
        run_maintenance_tick(&self.kernel, &self.config).await
    }

    async fn flush(&self) {
        let flush = OutboxFlush {
            max_events: Some(self.config.max_outbox_flush_per_tick),
        };
        if let Err(error) = self.kernel.dispatch(flush).await {
            tracing::warn!(%error, "relaying events failed; the next tick retries");
        }
    }
}
