//! Driving the engine as a user would: runs created through `run.create`, claimed up front, then drained by
//! a real [`WorkerHost`]. Every wait is bounded.

use crate::backend::Store;
use crate::measure::Rep;
use crate::workload::{Shape, Token};
use futures::StreamExt;
use std::time::{Duration, Instant};
use workflow_core::hosts::{HostConfig, WorkerHost};
use workflow_core::kernel::{Kernel, RunClaimPending, RunCreate};

/// How many `run.create` commands are in flight at once while setting up.
const CREATE_PARALLELISM: usize = 8;

/// Creates `count` runs of `workflow_id`; fails if that takes longer than `budget`.
pub async fn create_runs(
    kernel: &Kernel,
    workflow_id: &str,
    count: usize,
    budget: Duration,
) -> Result<Vec<workflow_core::ids::RunId>, String> {
    let begun = Instant::now();
    let creating = futures::stream::iter(0..count)
        .map(|n| {
            let command = RunCreate::new(
                format!("bench-{}", workflow_core::ids::uuid()),
                workflow_id,
                serde_json::to_value(Token { n: n as u64 }).expect("a token serializes"),
            );
            async move { kernel.dispatch(command).await }
        })
        .buffer_unordered(CREATE_PARALLELISM)
        .collect::<Vec<_>>();
    let created = tokio::time::timeout(budget, creating)
        .await
        .map_err(|_| format!("setup stalled: creating {count} runs took over {budget:?}"))?;
    let mut ids = Vec::with_capacity(count);
    for result in created {
        ids.push(
            result
                .map_err(|e| format!("run.create failed: {e}"))?
                .workflow_run_id,
        );
    }
    tracing::debug!(count, elapsed = ?begun.elapsed(), "runs created");
    Ok(ids)
}

/// Claims every pending run (so that the measured drain starts with every first group queued).
pub async fn claim_all(kernel: &Kernel, budget: Duration) -> Result<usize, String> {
    let claiming = async {
        let mut total = 0;
        loop {
            let command = RunClaimPending {
                worker_id: "bench-setup".into(),
                max_claims: Some(500),
            };
            let claimed = kernel
                .dispatch(command)
                .await
                .map_err(|e| format!("run.claimPending failed: {e}"))?
                .claimed
                .len();
            total += claimed;
            if claimed == 0 {
                return Ok(total);
            }
        }
    };
    tokio::time::timeout(budget, claiming)
        .await
        .map_err(|_| format!("setup stalled: claiming runs took over {budget:?}"))?
}

/// What a drain did.
#[derive(Clone, Copy, Debug)]
pub struct Drained {
    /// Jobs the host finished.
    pub jobs: u64,
    /// From host start until the last expected job finished (or the budget ran out).
    pub elapsed: Duration,
    /// Whether every expected job finished in time.
    pub finished: bool,
}

/// Runs a worker host until it has processed `expected_jobs` jobs or `budget` passes, then stops it
/// (waiting for in-flight stages at most `budget`, and never more than 15 s).
pub async fn drain(
    kernel: &Kernel,
    config: HostConfig,
    expected_jobs: u64,
    budget: Duration,
) -> Drained {
    let host = WorkerHost::new(kernel.clone(), config);
    let begun = Instant::now();
    host.start()
        .await
        .expect("the benchmark's host settings are valid");
    let mut jobs = 0;
    while begun.elapsed() < budget {
        jobs = host.stats().await.jobs_processed;
        if jobs >= expected_jobs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = begun.elapsed();
    let grace = budget.min(Duration::from_secs(15));
    if tokio::time::timeout(grace, host.stop()).await.is_err() {
        tracing::warn!("the worker host did not stop within {grace:?}; abandoning it");
    }
    Drained {
        jobs,
        elapsed,
        finished: jobs >= expected_jobs,
    }
}

/// Sizes of one throughput repetition.
#[derive(Clone, Copy, Debug)]
pub struct Throughput {
    /// The workload.
    pub shape: Shape,
    /// Runs drained.
    pub runs: usize,
    /// Worker concurrency.
    pub concurrency: usize,
    /// Time allowed for the drain.
    pub budget: Duration,
}

/// One repetition: stage executions per second and runs per second.
pub async fn throughput_rep(store: Result<Store, String>, spec: Throughput) -> (Rep, Rep) {
    let failed = |e: String| (Rep::Failed(e.clone()), Rep::Failed(e));
    let store = match store {
        Ok(store) => store,
        Err(error) => return failed(error),
    };
    let kernel = store.kernel(None);
    let setup = async {
        create_runs(
            &kernel,
            spec.shape.workflow_id(),
            spec.runs,
            spec.budget * 2,
        )
        .await?;
        claim_all(&kernel, spec.budget).await
    };
    if let Err(error) = setup.await {
        store.close().await;
        return (
            Rep::TimedOut {
                partial: None,
                detail: error.clone(),
            },
            Rep::TimedOut {
                partial: None,
                detail: error,
            },
        );
    }
    let expected = (spec.runs * spec.shape.stages()) as u64;
    let config = HostConfig {
        concurrency: spec.concurrency,
        ..HostConfig::new("bench-worker")
    };
    let drained = drain(&kernel, config, expected, spec.budget).await;
    let seconds = drained.elapsed.as_secs_f64();
    let result = if drained.finished {
        (
            Rep::Done(expected as f64 / seconds),
            Rep::Done(spec.runs as f64 / seconds),
        )
    } else {
        let runs_done = store.completed_runs().await.unwrap_or(0);
        let detail = format!(
            "{} of {expected} stage executions, {runs_done} of {} runs after {:.0} s",
            drained.jobs, spec.runs, seconds
        );
        (
            Rep::TimedOut {
                partial: Some(drained.jobs as f64 / seconds),
                detail: detail.clone(),
            },
            Rep::TimedOut {
                partial: Some(runs_done as f64 / seconds),
                detail,
            },
        )
    };
    store.close().await;
    result
}
