//! Executing one leased job (reference §9.1 `executeJobWithHeartbeat`): the lease is refreshed while the
//! stage runs; the kernel records the outcome, the job's end and the run's transition together. A lost
//! lease drops the stage's result; a hard stop ends the stage as failed and retryable.

use super::config::HostConfig;
use crate::kernel::{ExecuteOptions, JobOutcome, Kernel, LeasedJob};
use crate::ports::{JobLease, Signal};
use futures::future::{self, Either};
use std::pin::pin;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// The result of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRun {
    /// How the job ended (see [`JobOutcome`](crate::kernel::JobOutcome)).
    pub outcome: JobOutcome,
    /// The failure, if any.
    pub error: Option<String>,
}

/// Refreshes the lease every `interval` until dropped; reports a lost lease on `lost`.
fn heartbeat(
    kernel: &Kernel,
    lease: JobLease,
    interval: Duration,
    lost: oneshot::Sender<()>,
) -> tokio::task::JoinHandle<()> {
    let kernel = kernel.clone();
    let beat = async move {
        let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(10)));
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let touched = async {
                kernel
                    .store()
                    .executor()
                    .await?
                    .touch_job(&lease, kernel.clock().now())
                    .await
            };
            match touched.await {
                Ok(true) => {}
                Ok(false) => {
                    let _ = lost.send(());
                    return;
                }
                Err(error) => tracing::warn!(job_id = %lease.job_id, %error, "heartbeat failed"),
            }
        }
    };
    tokio::spawn(beat.in_current_span())
}

/// Executes `job` (leased by this worker) to its end. When `hard_stop` is cancelled first, the stage's
/// body is dropped and the stage recorded as failed and retryable.
pub async fn execute_job(
    kernel: &Kernel,
    config: &HostConfig,
    job: LeasedJob,
    hard_stop: &CancellationToken,
) -> JobRun {
    execute_job_then(kernel, config, job, hard_stop, 0, hard_stop)
        .await
        .0
}

/// [`execute_job`], then up to `lease_next` jobs leased for this worker in the transaction that recorded
/// the outcome unless `stopping` is cancelled by then (see [`Kernel::execute_then_lease`]). Everything it
/// does, the heartbeat included, runs in one `job` span (run id, stage id, job id, attempt, worker).
pub(crate) async fn execute_job_then(
    kernel: &Kernel,
    config: &HostConfig,
    job: LeasedJob,
    hard_stop: &CancellationToken,
    lease_next: usize,
    stopping: &CancellationToken,
) -> (JobRun, Vec<LeasedJob>) {
    let span = job.span(&config.worker_id);
    run_job(kernel, config, job, hard_stop, lease_next, stopping)
        .instrument(span)
        .await
}

async fn run_job(
    kernel: &Kernel,
    config: &HostConfig,
    job: LeasedJob,
    hard_stop: &CancellationToken,
    lease_next: usize,
    stopping: &CancellationToken,
) -> (JobRun, Vec<LeasedJob>) {
    let started = std::time::Instant::now();
    let lease = job.lease();
    let interruption = job.interruption();
    let (lost_sender, lost) = oneshot::channel();
    let beat = heartbeat(
        kernel,
        lease.clone(),
        config.job_heartbeat_interval,
        lost_sender,
    );
    let options = ExecuteOptions {
        retry: config.retry.clone(),
    };
    // The lease lost (the heartbeat's sender fired; a dropped sender is no loss) or the hard stop.
    let lost = async {
        if lost.await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let (lost, hard_stopped) = (pin!(lost), pin!(hard_stop.cancelled()));
    let execution = pin!(kernel.handoff(job, &options, &config.worker_id, lease_next, stopping));
    let result = match future::select(execution, future::select(lost, hard_stopped)).await {
        Either::Left((result, _)) => Ok(result),
        Either::Right((Either::Left(_), _)) => Err(None),
        Either::Right((Either::Right(_), _)) => Err(Some(())),
    };
    let mut next = Vec::new();
    let run = match result {
        Ok(Ok(handoff)) => {
            next = handoff.next;
            let executed = handoff.result;
            if let Some(at) = executed.retry_at {
                wake_at(kernel, at);
            }
            JobRun {
                outcome: executed.outcome,
                error: executed.error,
            }
        }
        Ok(Err(error)) => {
            tracing::error!(job_id = %lease.job_id, %error, "the stage outcome could not be recorded; the job will be re-leased");
            JobRun {
                outcome: JobOutcome::Unrecorded,
                error: Some(error.to_string()),
            }
        }
        Err(None) => {
            tracing::warn!(job_id = %lease.job_id, attempt = lease.attempt, "lease lost while the stage ran; its result is dropped");
            JobRun {
                outcome: JobOutcome::Fenced,
                error: Some("lease lost".into()),
            }
        }
        Err(Some(())) => {
            let reason = format!(
                "worker {} stopped before the stage finished (its shutdown grace of {:?} ran out)",
                config.worker_id, config.shutdown_grace
            );
            tracing::warn!(job_id = %lease.job_id, "{reason}");
            match kernel
                .record_interrupted(interruption, reason.clone())
                .await
            {
                Ok(_) => kernel.store().notify(Signal::Jobs),
                Err(error) => {
                    tracing::error!(job_id = %lease.job_id, %error, "could not record the interrupted stage; the job will be re-leased")
                }
            }
            JobRun {
                outcome: JobOutcome::Failed,
                error: Some(reason),
            }
        }
    };
    beat.abort();
    crate::metrics::job_executed(run.outcome, started.elapsed());
    (run, next)
}

/// Wakes this process's job loops when a retried job becomes claimable.
fn wake_at(kernel: &Kernel, at: chrono::DateTime<chrono::Utc>) {
    let delay = (at - kernel.clock().now()).to_std().unwrap_or_default();
    let store = kernel.store().clone();
    let wake = async move {
        tokio::time::sleep(delay).await;
        store.notify(Signal::Jobs);
    };
    tokio::spawn(wake.in_current_span());
}
