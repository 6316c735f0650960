//! [`WorkerHost`]: a long-running worker (reference §9.2, "node host") with a job loop of configurable
//! concurrency, a maintenance loop, and graceful shutdown that lets in-flight stages finish.

use super::config::HostConfig;
use super::job_runner::{JobRunOutcome, execute_job};
use super::maintenance::run_maintenance_tick;
use crate::kernel::Kernel;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::{Mutex, Semaphore, watch};
use tokio::task::JoinSet;

/// Counters of a worker host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStats {
    /// The worker id.
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
struct Counters {
    processed: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    ticks: AtomicU64,
}

struct Running {
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    started: Instant,
}

struct Inner {
    kernel: Kernel,
    config: HostConfig,
    counters: Counters,
    running: Mutex<Option<Running>>,
}

/// A worker: executes jobs (up to `concurrency` at once) and runs the maintenance tick. Cheap to clone.
///
/// ```no_run
/// # async fn example(kernel: workflow_core::kernel::Kernel) {
/// use workflow_core::hosts::{HostConfig, WorkerHost};
///
/// let host = WorkerHost::new(kernel, HostConfig { concurrency: 4, ..HostConfig::new("worker-1") });
/// host.run_until_signal().await; // until SIGINT or SIGTERM; in-flight stages finish first
/// # }
/// ```
#[derive(Clone)]
pub struct WorkerHost {
    inner: Arc<Inner>,
}

/// Waits until `shutdown` is set.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

impl WorkerHost {
    /// A host over `kernel`.
    pub fn new(kernel: Kernel, config: HostConfig) -> Self {
        WorkerHost {
            inner: Arc::new(Inner {
                kernel,
                config,
                counters: Counters::default(),
                running: Mutex::new(None),
            }),
        }
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.inner.kernel
    }

    /// The configuration.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// Starts the job and maintenance loops (the first tick runs at once). Returns `false` if they were
    /// already running.
    pub async fn start(&self) -> bool {
        let mut running = self.inner.running.lock().await;
        if running.is_some() {
            return false;
        }
        let (shutdown, receiver) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(self.clone().job_loop(receiver.clone()));
        tasks.spawn(self.clone().maintenance_loop(receiver));
        tracing::info!(worker_id = %self.inner.config.worker_id, concurrency = self.inner.config.concurrency, "worker started");
        *running = Some(Running {
            shutdown,
            tasks,
            started: Instant::now(),
        });
        true
    }

    /// Stops dequeuing and ticking, waits for in-flight jobs to finish, and returns. Returns `false` if the
    /// host was not running.
    pub async fn stop(&self) -> bool {
        let Some(mut running) = self.inner.running.lock().await.take() else {
            return false;
        };
        let _ = running.shutdown.send(true);
        while let Some(result) = running.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a worker loop ended abnormally");
            }
        }
        tracing::info!(worker_id = %self.inner.config.worker_id, "worker stopped");
        true
    }

    /// Whether the loops run.
    pub async fn is_running(&self) -> bool {
        self.inner.running.lock().await.is_some()
    }

    /// Runs until `shutdown` completes, then stops gracefully.
    pub async fn run_until(&self, shutdown: impl std::future::Future<Output = ()>) {
        self.start().await;
        shutdown.await;
        self.stop().await;
    }

    /// Runs until SIGINT (Ctrl-C) or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(&self) {
        self.run_until(shutdown_signal()).await;
    }

    /// The counters.
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

    async fn job_loop(self, mut shutdown: watch::Receiver<bool>) {
        let inner = &self.inner;
        let slots = Arc::new(Semaphore::new(inner.config.concurrency.max(1)));
        let mut in_flight = JoinSet::new();
        let jobs = inner.kernel.job_transport().clone();
        loop {
            while let Some(done) = in_flight.try_join_next() {
                if let Err(error) = done {
                    tracing::error!(%error, "a job task panicked");
                }
            }
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                () = stopped(&mut shutdown) => break,
            };
            if *shutdown.borrow() {
                break;
            }
            match jobs
                .dequeue(&inner.config.worker_id, inner.kernel.clock().now())
                .await
            {
                Ok(Some(job)) => {
                    let host = self.clone();
                    in_flight.spawn(async move {
                        let run = execute_job(&host.inner.kernel, &host.inner.config, job).await;
                        let counters = &host.inner.counters;
                        counters.processed.fetch_add(1, Ordering::Relaxed);
                        match run.outcome {
                            JobRunOutcome::Completed => {
                                counters.completed.fetch_add(1, Ordering::Relaxed)
                            }
                            JobRunOutcome::Failed => {
                                counters.failed.fetch_add(1, Ordering::Relaxed)
                            }
                            _ => 0,
                        };
                        drop(slot);
                    });
                }
                Ok(None) => {
                    drop(slot);
                    tokio::select! {
                        () = jobs.wait_for_jobs(inner.config.job_poll_interval) => {}
                        () = stopped(&mut shutdown) => break,
                    }
                }
                Err(error) => {
                    drop(slot);
                    tracing::error!(%error, "dequeue failed");
                    tokio::select! {
                        () = tokio::time::sleep(inner.config.error_backoff) => {}
                        () = stopped(&mut shutdown) => break,
                    }
                }
            }
        }
        // Graceful shutdown: in-flight stages finish and record their outcome.
        while let Some(done) = in_flight.join_next().await {
            if let Err(error) = done {
                tracing::error!(%error, "a job task panicked");
            }
        }
    }

    async fn maintenance_loop(self, mut shutdown: watch::Receiver<bool>) {
        let mut ticker = tokio::time::interval(self.inner.config.orchestration_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stopped(&mut shutdown) => return,
            }
            let report = run_maintenance_tick(&self.inner.kernel, &self.inner.config).await;
            self.inner.counters.ticks.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(?report, "maintenance tick");
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
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
