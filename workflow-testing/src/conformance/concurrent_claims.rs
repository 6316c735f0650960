//! Many workers claiming at once never lease one job twice (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite:
//! one atomic statement per claim; in memory: one lock).

use super::harness::{BackendFactory, Harness};
use chrono::Utc;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Barrier;
use workflow_core::ports::{JobClaim, JobRecord, NewJob, Status, Store};

const JOBS: usize = 300;
const WORKERS: usize = 8;
const BATCH: usize = 7;

/// Eight claimers drain the queue in rounds; in each round all of them claim a batch at the same moment.
async fn drain_concurrently(store: Arc<dyn Store>) -> Vec<JobRecord> {
    // Enough rounds to drain the queue when no claim is lost, plus one that must find it empty.
    let rounds = JOBS.div_ceil(WORKERS * BATCH) + 1;
    let start = Arc::new(Barrier::new(WORKERS));
    // Spawned all at once (the barrier needs every claimer running), awaited afterwards.
    let claimers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (store, start) = (store.clone(), start.clone());
            tokio::spawn(async move {
                let claim = JobClaim {
                    worker_id: format!("worker-{worker}"),
                    limit: BATCH,
                    workflows: vec!["conformance-linear".into()],
                };
                let mut claimed = Vec::new();
                for _ in 0..rounds {
                    start.wait().await;
                    let mut tx = store.begin().await.expect("a transaction opens");
                    let batch = tx
                        .claim_jobs(&claim, Utc::now())
                        .await
                        .expect("a claim succeeds under contention");
                    tx.commit().await.expect("the claim commits");
                    claimed.extend(batch.into_iter().map(|c| c.expect("readable").job));
                }
                claimed
            })
        })
        .collect();
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.expect("the claimer does not panic"));
    }
    all
}

/// 300 pending jobs, eight workers claiming batches of 7 at once: every job is leased exactly once, with
/// attempt 1, to the worker the store records, and every worker got a share.
pub async fn concurrent_workers_never_share_a_job(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let jobs: Vec<NewJob> = (0..JOBS)
        .map(|n| NewJob {
            workflow_run_id: format!("run-{n:03}").into(),
            workflow_id: "conformance-linear".into(),
            stage_id: "double".into(),
            priority: (n % 3) as i32,
            payload: json!({ "config": {} }),
        })
        .collect();
    let mut tx = h.backend.store.begin().await.unwrap();
    tx.enqueue_jobs(jobs, Utc::now()).await.unwrap();
    tx.commit().await.unwrap();

    let claimed = drain_concurrently(h.backend.store.clone()).await;
    let ids: BTreeSet<&str> = claimed.iter().map(|job| job.id.as_str()).collect();
    assert_eq!(ids.len(), claimed.len(), "a job was leased twice");
    assert_eq!(claimed.len(), JOBS, "every pending job is leased");
    let workers: BTreeSet<&str> = claimed
        .iter()
        .filter_map(|job| job.worker_id.as_deref())
        .collect();
    assert_eq!(
        workers.len(),
        WORKERS,
        "every claimer got jobs in the first round"
    );
    for job in &claimed {
        assert_eq!(
            (job.status, job.attempt),
            (Status::Running, 1),
            "job {}",
            job.id
        );
        let stored = h.jobs(&job.workflow_run_id).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(
            (stored[0].status, stored[0].attempt, &stored[0].worker_id),
            (Status::Running, 1, &job.worker_id),
            "the store records the lease that was handed out for job {}",
            job.id
        );
    }
}
