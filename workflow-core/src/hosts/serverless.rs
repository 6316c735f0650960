//! [`ServerlessHost`] (reference §9.3): stateless single-invocation methods for queue-driven or cron-driven
//! environments.

use super::config::HostConfig;
use super::job_runner::{JobRun, JobRunOutcome, execute_job};
use super::maintenance::{TickReport, run_maintenance_tick};
use crate::kernel::Kernel;
use crate::ports::{JobRecord, StoreError};
use serde::{Deserialize, Serialize};

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
}

impl ServerlessHost {
    /// A host over `kernel`.
    pub fn new(kernel: Kernel, config: HostConfig) -> Self {
        ServerlessHost { kernel, config }
    }

    /// Executes one job this worker has leased (for example from a queue message).
    pub async fn handle_job(&self, job: JobRecord) -> JobRun {
        execute_job(&self.kernel, &self.config, job).await
    }

    /// Dequeues and executes up to `max_jobs` jobs, one after another.
    pub async fn process_available_jobs(
        &self,
        max_jobs: usize,
    ) -> Result<ProcessedJobs, StoreError> {
        let mut counts = ProcessedJobs::default();
        for _ in 0..max_jobs {
            let Some(job) = self
                .kernel
                .job_transport()
                .dequeue(&self.config.worker_id, self.kernel.clock().now())
                .await?
            else {
                break;
            };
            let run = self.handle_job(job).await;
            counts.processed += 1;
            match run.outcome {
                JobRunOutcome::Completed | JobRunOutcome::Suspended => counts.succeeded += 1,
                JobRunOutcome::Failed | JobRunOutcome::Ghost | JobRunOutcome::Fenced => {
                    counts.failed += 1
                }
            }
        }
        Ok(counts)
    }

    /// Runs one maintenance tick (for a cron trigger).
    pub async fn run_maintenance_tick(&self) -> TickReport {
        run_maintenance_tick(&self.kernel, &self.config).await
    }
}
