//! Many workers claiming at once never lease one job twice (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite:
//! one atomic statement per claim; in memory: one lock).

use super::harness::{BackendFactory, Harness};
use crate::ports::{JobRecord, JobTransport, NewJob, Status};
use chrono::Utc;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Barrier;

const JOBS: usize = 300;
const WORKERS: usize = 8;
const BATCH: usize = 7;

/// Eight claimers drain the queue in rounds; in each round all of them claim a batch at the same moment.
async fn drain_concurrently(jobs: Arc<dyn JobTransport>) -> Vec<JobRecord> {
    // Enough rounds to drain the queue when no claim is lost, plus one that must find it empty.
    let rounds = JOBS.div_ceil(WORKERS * BATCH) + 1;
    let start = Arc::new(Barrier::new(WORKERS));
    // Spawned all at once (the barrier needs every claimer running), awaited afterwards.
    let claimers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (jobs, start) = (jobs.clone(), start.clone());
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                for _ in 0..rounds {
                    start.wait().await;
                    let batch = jobs
                        .dequeue_batch(&format!("worker-{worker}"), BATCH, Utc::now())
                        .await
                        .expect("a claim succeeds under contention");
                    claimed.extend(batch);
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
            workflow_run_id: format!("run-{n:03}"),
            workflow_id: "conformance-linear".into(),
            stage_id: "double".into(),
            priority: (n % 3) as i32,
            payload: json!({ "config": {} }),
        })
        .collect();
    let mut tx = h.backend.persistence.begin().await.unwrap();
    h.backend
        .jobs
        .enqueue(&mut *tx, jobs, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let claimed = drain_concurrently(h.backend.jobs.clone()).await;
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
