//! The loops of a [`WorkerHost`]: the job loop (leasing up to the free slots, each slot handing itself to
//! the next stage), the run claimer, the suspended-stage poller, the outbox relay and the maintenance
//! tick. Each waits on the store's signal for its kind of work, with its interval as the fallback.

use super::job_runner::execute_job_then;
use super::maintenance::run_maintenance_tick;
use super::worker::WorkerHost;
use crate::kernel::JobOutcome;
use crate::kernel::{LeasedJob, OutboxFlush, RunClaimPending, StagePollSuspended};
use crate::ports::Signal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// How long the relay waits after being woken before it delivers, so that the events of commits made
/// meanwhile go out in the same pass.
const RELAY_GATHER: Duration = Duration::from_millis(5);

impl WorkerHost {
    /// Pauses for `wait` (or until `signal` fires); `false` when the host is stopping.
    async fn pause(
        &self,
        stop: &CancellationToken,
        signal: Option<Signal>,
        wait: Duration,
    ) -> bool {
        let kernel = &self.inner.kernel;
        stop.run_until_cancelled(async {
            match signal {
                Some(signal) => kernel.wait(signal, wait).await,
                None => tokio::time::sleep(wait).await,
            }
        })
        .await
        .is_some()
    }

    pub(super) async fn job_loop(self, stop: CancellationToken, jobs: TaskTracker) {
        let config = &self.inner.config;
        let slots = Arc::new(Semaphore::new(config.concurrency));
        loop {
            let Some(first) = stop
                .run_until_cancelled(slots.clone().acquire_owned())
                .await
            else {
                return;
            };
            let first = first.expect("the semaphore is never closed");
            let mut permits = vec![first];
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                permits.push(permit);
            }
            let claim_started = std::time::Instant::now();
            let leased = self
                .inner
                .kernel
                .lease_jobs(&config.worker_id, permits.len())
                .await;
            if let Ok(leased) = &leased {
                crate::metrics::jobs_claimed(claim_started.elapsed(), leased.len());
            }
            match leased {
                Ok(leased) if leased.is_empty() => {
                    drop(permits);
                    if !self
                        .pause(&stop, Some(Signal::Jobs), config.job_poll_interval)
                        .await
                    {
                        return;
                    }
                }
                Ok(leased) => {
                    for job in leased {
                        let permit = permits.pop().expect("one permit per leased job");
                        let host = self.clone();
                        let stop = stop.clone();
                        let slot = async move {
                            host.run_slot(job, &stop).await;
                            drop(permit);
                        };
                        jobs.spawn(slot.in_current_span());
                    }
                }
                Err(error) => {
                    drop(permits);
                    tracing::error!(%error, "leasing jobs failed");
                    if !self.pause(&stop, None, config.error_backoff).await {
                        return;
                    }
                }
            }
        }
    }

    /// Runs `job` in one slot, and after it the job leased for the slot in the transaction that recorded
    /// it, until none is claimable or the host is stopping.
    async fn run_slot(&self, job: LeasedJob, stop: &CancellationToken) {
        let (kernel, config) = (&self.inner.kernel, &self.inner.config);
        let hard_stop = self.hard_stop_token().clone();
        let mut job = job;
        loop {
            let (run, next) = execute_job_then(kernel, config, job, &hard_stop, 1, stop).await;
            self.count(run.outcome);
            match next.into_iter().next() {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    fn count(&self, outcome: JobOutcome) {
        let counters = &self.inner.counters;
        counters.processed.fetch_add(1, Ordering::Relaxed);
        match outcome {
            JobOutcome::Completed => counters.completed.fetch_add(1, Ordering::Relaxed),
            JobOutcome::Failed => counters.failed.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }

    /// Claims pending runs as soon as they are created (and every interval, for other engines' runs).
    pub(super) async fn claim_loop(self, stop: CancellationToken) {
        let config = &self.inner.config;
        loop {
            loop {
                let claim = RunClaimPending {
                    worker_id: config.worker_id.clone(),
                    max_claims: Some(config.max_claims_per_tick),
                };
                match self.inner.kernel.dispatch(claim).await {
                    Ok(claimed) if claimed.claimed.len() >= config.max_claims_per_tick => {}
                    Ok(_) => break,
                    Err(error) => {
                        tracing::error!(%error, "claiming pending runs failed");
                        break;
                    }
                }
            }
            if !self
                .pause(&stop, Some(Signal::Runs), config.orchestration_interval)
                .await
            {
                return;
            }
        }
    }

    /// Polls suspended stages when the earliest `nextPollAt` comes (woken early by new suspensions).
    pub(super) async fn poll_loop(self, stop: CancellationToken) {
        let (kernel, config) = (&self.inner.kernel, &self.inner.config);
        loop {
            let next = async { kernel.store().executor().await?.next_suspended_poll().await };
            let wait = match next.await {
                Ok(Some(at)) if at <= kernel.clock().now() => {
                    let poll = StagePollSuspended {
                        max_checks: Some(config.max_suspended_checks_per_tick),
                    };
                    match kernel.dispatch(poll).await {
                        Ok(_) => continue,
                        Err(error) => {
                            tracing::error!(%error, "polling suspended stages failed");
                            config.error_backoff
                        }
                    }
                }
                Ok(Some(at)) => (at - kernel.clock().now())
                    .to_std()
                    .unwrap_or_default()
                    .min(config.orchestration_interval),
                Ok(None) => config.orchestration_interval,
                Err(error) => {
                    tracing::error!(%error, "reading the next poll time failed");
                    config.error_backoff
                }
            };
            if !self.pause(&stop, Some(Signal::Suspended), wait).await {
                return;
            }
        }
    }

    /// Delivers outbox events right after the commits that append them.
    pub(super) async fn relay_loop(self, stop: CancellationToken) {
        let (kernel, config) = (&self.inner.kernel, &self.inner.config);
        loop {
            loop {
                let flush = OutboxFlush {
                    max_events: Some(config.max_outbox_flush_per_tick),
                };
                match kernel.dispatch(flush).await {
                    Ok(flushed) if flushed.published >= config.max_outbox_flush_per_tick => {}
                    Ok(_) => break,
                    Err(error) => {
                        tracing::error!(%error, "relaying events failed");
                        break;
                    }
                }
            }
            if !self
                .pause(&stop, Some(Signal::Events), config.orchestration_interval)
                .await
            {
                return;
            }
            // Events committed close together go out in one pass (one transaction for many commits).
            if !self.pause(&stop, None, RELAY_GATHER).await {
                return;
            }
        }
    }

    pub(super) async fn maintenance_loop(self, stop: CancellationToken) {
        loop {
            let report = run_maintenance_tick(&self.inner.kernel, &self.inner.config).await;
            self.inner.counters.ticks.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(?report, "maintenance tick");
            if !self
                .pause(&stop, None, self.inner.config.orchestration_interval)
                .await
            {
                return;
            }
        }
    }
}
