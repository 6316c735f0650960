//! Executing one dequeued job (reference §9.1 `executeJobWithHeartbeat`): heartbeats while the stage runs,
//! then completes, suspends or fails the job (retrying with backoff) and transitions the run.

use super::config::HostConfig;
use crate::kernel::{JobExecute, JobOutcome, Kernel, RunTransition};
use crate::ports::{JobRecord, Status};
use crate::time::add;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::oneshot;

/// How a job ended for the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobRunOutcome {
    /// The stage completed.
    Completed,
    /// The stage suspended.
    Suspended,
    /// The stage failed (retried later if allowed).
    Failed,
    /// The job should not have run (run not `RUNNING`); it was failed without retry.
    Ghost,
    /// The lease was lost while the stage ran; the result was dropped and the job left to its new holder.
    Fenced,
}

/// The result of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRun {
    /// How it ended.
    pub outcome: JobRunOutcome,
    /// The failure, if any.
    pub error: Option<String>,
}

/// Refreshes the lease every `interval` until dropped; reports a lost lease on `lost`.
fn heartbeat(
    kernel: &Kernel,
    job: &JobRecord,
    interval: Duration,
    lost: oneshot::Sender<()>,
) -> tokio::task::JoinHandle<()> {
    let (kernel, lease) = (kernel.clone(), job.lease());
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            match kernel
                .job_transport()
                .touch(&lease, kernel.clock().now())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    let _ = lost.send(());
                    return;
                }
                Err(error) => tracing::warn!(job_id = %lease.job_id, %error, "heartbeat failed"),
            }
        }
    })
}

async fn transition(kernel: &Kernel, run_id: &str) {
    if let Err(error) = kernel.dispatch(RunTransition::new(run_id)).await {
        tracing::error!(run_id, %error, "run.transition after a job failed");
    }
}

/// Executes `job` (already leased by this worker) to its end.
pub async fn execute_job(kernel: &Kernel, config: &HostConfig, job: JobRecord) -> JobRun {
    let lease = job.lease();
    let (lost_sender, lost) = oneshot::channel();
    let beat = heartbeat(kernel, &job, config.job_heartbeat_interval, lost_sender);
    let command = JobExecute::new(
        &job.workflow_run_id,
        &job.workflow_id,
        &job.stage_id,
        job.run_config(),
    )
    .with_lease(lease.clone());
    let result = tokio::select! {
        result = kernel.dispatch(command) => Some(result),
        Ok(()) = lost => None,
    };
    beat.abort();
    let jobs = kernel.job_transport();
    let now = kernel.clock().now();
    let Some(result) = result else {
        tracing::warn!(job_id = %job.id, attempt = job.attempt, "lease lost while the stage ran; its result is dropped");
        return JobRun {
            outcome: JobRunOutcome::Fenced,
            error: Some("lease lost".into()),
        };
    };
    let (error, retryable) = match result {
        Ok(executed) => match executed.outcome {
            JobOutcome::Completed => {
                if let Err(error) = jobs.complete(&lease, now).await {
                    tracing::error!(job_id = %job.id, %error, "could not complete a job");
                }
                transition(kernel, &job.workflow_run_id).await;
                return JobRun {
                    outcome: JobRunOutcome::Completed,
                    error: None,
                };
            }
            JobOutcome::Suspended => {
                let next = executed
                    .next_poll_at
                    .unwrap_or_else(|| add(now, config.suspend_fallback));
                if let Err(error) = jobs.suspend(&lease, next, now).await {
                    tracing::error!(job_id = %job.id, %error, "could not suspend a job");
                }
                return JobRun {
                    outcome: JobRunOutcome::Suspended,
                    error: None,
                };
            }
            JobOutcome::Failed if executed.ghost => {
                let error = executed.error.unwrap_or_else(|| "ghost job".into());
                tracing::info!(job_id = %job.id, %error, "ghost job discarded");
                if let Err(store) = jobs.fail(&lease, &error, None, now).await {
                    tracing::error!(job_id = %job.id, error = %store, "could not fail a ghost job");
                }
                return JobRun {
                    outcome: JobRunOutcome::Ghost,
                    error: Some(error),
                };
            }
            JobOutcome::Failed => (
                executed.error.unwrap_or_else(|| "Unknown error".into()),
                executed.retryable != Some(false),
            ),
        },
        // The kernel itself failed (store unavailable, blob write failed, ...): retry like a stage failure.
        Err(error) => {
            tracing::error!(job_id = %job.id, %error, "job.execute failed");
            (error.to_string(), true)
        }
    };
    let can_retry = retryable && job.attempt < job.max_attempts;
    let retry_at = can_retry.then(|| add(now, config.retry.delay(job.attempt)));
    match jobs.fail(&lease, &error, retry_at, now).await {
        Ok(Some(Status::Failed)) => transition(kernel, &job.workflow_run_id).await,
        Ok(Some(_)) => {
            tracing::info!(job_id = %job.id, attempt = job.attempt, retry_at = ?retry_at, "job will be retried")
        }
        Ok(None) => tracing::warn!(job_id = %job.id, "lease lost before the failure was recorded"),
        Err(store) => tracing::error!(job_id = %job.id, error = %store, "could not fail a job"),
    }
    JobRun {
        outcome: JobRunOutcome::Failed,
        error: Some(error),
    }
}
