//! [`WorkerHost`]: a long-running worker (reference §9.2, "node host"). Nothing waits for a fixed tick when
//! it can be woken: jobs are leased as soon as they are enqueued (up to the free slots, in one claim), runs
//! as soon as they are created, suspended stages when their `nextPollAt` comes, and events are relayed
//! right after each commit. The maintenance tick remains as the fallback (stale leases, stuck runs, work of
//! other engines that woke nobody). Stopping lets in-flight stages finish within a grace period.

use super::config::{HostConfig, HostConfigError};
use crate::kernel::Kernel;
use futures::future::{self, Either};
use serde::{Deserialize, Serialize};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Counters of a worker host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStats {
    /// The worker these counters belong to (`HostConfig::worker_id`).
    pub worker_id: String,
    /// Jobs executed (any outcome).
    pub jobs_processed: u64,
    /// Jobs whose stage completed.
    pub jobs_completed: u64,
    /// Jobs whose stage failed (retried or not).
    pub jobs_failed: u64,
    /// Maintenance ticks run.
    pub orchestration_ticks: u64,
    /// Whether the loops run.
    pub is_running: bool,
    /// Time since start, in ms (0 when stopped).
    pub uptime_ms: u64,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) processed: AtomicU64,
    pub(super) completed: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) ticks: AtomicU64,
}

struct Running {
    /// Ends the loops (no new work is taken).
    stop: CancellationToken,
    loops: TaskTracker,
    jobs: TaskTracker,
    started: Instant,
}

pub(super) struct Inner {
    pub(super) kernel: Kernel,
    pub(super) config: HostConfig,
    pub(super) counters: Counters,
    running: Mutex<Option<Running>>,
    /// Drops in-flight stage bodies (cancelled by [`WorkerHost::stop_now`] or when the grace runs out).
    hard_stop: std::sync::Mutex<CancellationToken>,
}

/// A worker: executes jobs (up to `concurrency` at once) and keeps the engine moving. Cheap to clone.
///
/// ```no_run
/// # async fn example(kernel: workflow_core::kernel::Kernel) -> Result<(), Box<dyn std::error::Error>> {
/// use workflow_core::hosts::{HostConfig, WorkerHost};
///
/// let host = WorkerHost::new(kernel, HostConfig { concurrency: 4, ..HostConfig::new("worker-1") });
/// host.run_until_signal().await?; // until SIGINT or SIGTERM; in-flight stages finish first
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct WorkerHost {
    pub(super) inner: Arc<Inner>,
}

impl WorkerHost {
    /// A host over `kernel` (settings are checked by [`start`](WorkerHost::start)).
    pub fn new(kernel: Kernel, config: HostConfig) -> Self {
        WorkerHost {
            inner: Arc::new(Inner {
                kernel,
                config,
                counters: Counters::default(),
                running: Mutex::new(None),
                hard_stop: std::sync::Mutex::new(CancellationToken::new()),
            }),
        }
    }

    /// The kernel the host dispatches to (shared: clone it to create runs while the host runs).
    pub fn kernel(&self) -> &Kernel {
        &self.inner.kernel
    }

    /// The settings the host was created with.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// Starts the loops. Returns `false` if they were already running, and an error naming the fields
    /// when the settings contradict each other (see [`HostConfig::validate`]).
    pub async fn start(&self) -> Result<bool, HostConfigError> {
        self.inner.config.validate()?;
        let mut running = self.inner.running.lock().await;
        if running.is_some() {
            return Ok(false);
        }
        *self.hard_stop_token() = CancellationToken::new();
        let stop = CancellationToken::new();
        let loops = TaskTracker::new();
        let jobs = TaskTracker::new();
        // Every loop, and every job task they spawn, runs in the worker's span.
        let span = tracing::info_span!("worker", worker_id = %self.inner.config.worker_id);
        loops.spawn(
            self.clone()
                .job_loop(stop.clone(), jobs.clone())
                .instrument(span.clone()),
        );
        loops.spawn(
            self.clone()
                .claim_loop(stop.clone())
                .instrument(span.clone()),
        );
        loops.spawn(
            self.clone()
                .poll_loop(stop.clone())
                .instrument(span.clone()),
        );
        loops.spawn(
            self.clone()
                .relay_loop(stop.clone())
                .instrument(span.clone()),
        );
        loops.spawn(self.clone().maintenance_loop(stop.clone()).instrument(span));
        loops.close();
        tracing::info!(worker_id = %self.inner.config.worker_id, concurrency = self.inner.config.concurrency, "worker started");
        *running = Some(Running {
            stop,
            loops,
            jobs,
            started: Instant::now(),
        });
        Ok(true)
    }

    pub(super) fn hard_stop_token(&self) -> std::sync::MutexGuard<'_, CancellationToken> {
        self.inner
            .hard_stop
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Stops taking work and waits for in-flight stages, for at most the configured
    /// [`shutdown_grace`](HostConfig::shutdown_grace) (or until [`stop_now`](WorkerHost::stop_now)); stages
    /// still running then are ended as failed and retryable, so another worker picks them up. Returns
    /// `false` if the host was not running.
    pub async fn stop(&self) -> bool {
        let Some(running) = self.inner.running.lock().await.take() else {
            return false;
        };
        running.stop.cancel();
        running.loops.wait().await;
        running.jobs.close();
        let hard_stop = self.hard_stop_token().clone();
        let grace = self.inner.config.shutdown_grace;
        let (finished, hard_stopped) = (pin!(running.jobs.wait()), pin!(hard_stop.cancelled()));
        if tokio::time::timeout(grace, future::select(finished, hard_stopped))
            .await
            .is_err()
        {
            tracing::warn!(worker_id = %self.inner.config.worker_id, ?grace, "shutdown grace ran out; ending in-flight stages as retryable failures");
            hard_stop.cancel();
        }
        running.jobs.wait().await;
        tracing::info!(worker_id = %self.inner.config.worker_id, "worker stopped");
        true
    }

    /// Ends in-flight stages at once (as failed and retryable) and makes a running
    /// [`stop`](WorkerHost::stop) return without waiting out its grace.
    pub fn stop_now(&self) {
        self.hard_stop_token().cancel();
    }

    /// Whether the loops run.
    pub async fn is_running(&self) -> bool {
        self.inner.running.lock().await.is_some()
    }

    /// Runs until `shutdown` completes, then stops gracefully.
    pub async fn run_until(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), HostConfigError> {
        self.start().await?;
        shutdown.await;
        self.stop().await;
        Ok(())
    }

    /// Runs until SIGINT (Ctrl-C) or SIGTERM, then stops gracefully; a second signal during the stop ends
    /// in-flight stages at once (as failed and retryable).
    pub async fn run_until_signal(&self) -> Result<(), HostConfigError> {
        self.start().await?;
        shutdown_signal().await;
        let mut stopping = pin!(self.stop());
        if let Either::Right(_) = future::select(stopping.as_mut(), pin!(shutdown_signal())).await {
            self.stop_now();
            stopping.await;
        }
        Ok(())
    }

    /// A snapshot of the host's counters (jobs processed, completed, failed, ticks, uptime).
    pub async fn stats(&self) -> HostStats {
        let counters = &self.inner.counters;
        let running = self.inner.running.lock().await;
        HostStats {
            worker_id: self.inner.config.worker_id.clone(),
            jobs_processed: counters.processed.load(Ordering::Relaxed),
            jobs_completed: counters.completed.load(Ordering::Relaxed),
            jobs_failed: counters.failed.load(Ordering::Relaxed),
            orchestration_ticks: counters.ticks.load(Ordering::Relaxed),
            is_running: running.is_some(),
            uptime_ms: running
                .as_ref()
                .map_or(0, |r| r.started.elapsed().as_millis() as u64),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    match future::select(pin!(interrupt), pin!(terminate)).await {
        Either::Left(_) => tracing::info!("SIGINT received, shutting down"),
        Either::Right(_) => tracing::info!("SIGTERM received, shutting down"),
    }
}
