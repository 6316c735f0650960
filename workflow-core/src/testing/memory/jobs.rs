//! The in-memory [`JobTransport`]. Operations that take a session run inside it when it is a transaction of
//! this store, so jobs commit (or roll back) with the command that made them.

use super::InMemoryStore;
use super::session::MemorySession;
use super::tables::Tables;
use crate::ports::jobs::{JobLease, JobRecord, NewJob, SuspendedJobEnd};
use crate::ports::{JobTransport, Session, Status, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

fn held<'a>(tables: &'a mut Tables, lease: &JobLease) -> Option<&'a mut JobRecord> {
    tables.jobs.iter_mut().find(|job| {
        job.id == lease.job_id && job.status == Status::Running && job.attempt == lease.attempt
    })
}

impl InMemoryStore {
    /// The session as one of this store's sessions.
    fn own<'s>(&self, session: &'s mut dyn Session) -> Result<&'s mut MemorySession, StoreError> {
        let own = session
            .as_any_mut()
            .downcast_mut::<MemorySession>()
            .filter(|s| Arc::ptr_eq(&s.store, &self.tables))
            .ok_or_else(|| {
                StoreError::Misconfigured(
                    "the in-memory job transport was given a session of another store".into(),
                )
            })?;
        Ok(own)
    }
}

#[async_trait]
impl JobTransport for InMemoryStore {
    async fn enqueue(
        &self,
        session: &mut dyn Session,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let max_attempts = self.default_max_attempts();
        let session = self.own(session)?;
        let ids = session
            .with(|tables| {
                jobs.into_iter()
                    .map(|job| {
                        let record = JobRecord {
                            id: crate::ids::cuid(),
                            created_at: now,
                            updated_at: now,
                            workflow_run_id: job.workflow_run_id,
                            workflow_id: job.workflow_id,
                            stage_id: job.stage_id,
                            status: Status::Pending,
                            priority: job.priority,
                            attempt: 0,
                            max_attempts,
                            worker_id: None,
                            locked_at: None,
                            started_at: None,
                            completed_at: None,
                            next_poll_at: None,
                            payload: job.payload,
                            last_error: None,
                        };
                        let id = record.id.clone();
                        tables.jobs.push(record);
                        id
                    })
                    .collect()
            })
            .await;
        Ok(ids)
    }

    async fn dequeue(
        &self,
        worker_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<JobRecord>, StoreError> {
        let mut tables = self.tables.lock().await;
        let index = tables
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, job)| {
                job.status == Status::Pending && job.next_poll_at.is_none_or(|at| at <= now)
            })
            .min_by(|(ia, a), (ib, b)| {
                b.priority
                    .cmp(&a.priority)
                    .then(a.created_at.cmp(&b.created_at))
                    .then(ia.cmp(ib))
            })
            .map(|(index, _)| index);
        Ok(index.map(|index| {
            let job = &mut tables.jobs[index];
            job.status = Status::Running;
            job.attempt += 1;
            job.worker_id = Some(worker_id.to_owned());
            job.locked_at = Some(now);
            job.started_at = Some(now);
            job.updated_at = now;
            job.clone()
        }))
    }

    async fn complete(&self, lease: &JobLease, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tables = self.tables.lock().await;
        Ok(held(&mut tables, lease)
            .map(|job| {
                job.status = Status::Completed;
                job.completed_at = Some(now);
                job.updated_at = now;
            })
            .is_some())
    }

    async fn suspend(
        &self,
        lease: &JobLease,
        next_poll_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tables = self.tables.lock().await;
        Ok(held(&mut tables, lease)
            .map(|job| {
                job.status = Status::Suspended;
                job.next_poll_at = Some(next_poll_at);
                job.worker_id = None;
                job.locked_at = None;
                job.updated_at = now;
            })
            .is_some())
    }

    async fn fail(
        &self,
        lease: &JobLease,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Status>, StoreError> {
        let mut tables = self.tables.lock().await;
        Ok(held(&mut tables, lease).map(|job| {
            job.last_error = Some(error.to_owned());
            job.updated_at = now;
            match retry_at {
                Some(at) if job.attempt < job.max_attempts => {
                    job.status = Status::Pending;
                    job.worker_id = None;
                    job.locked_at = None;
                    job.next_poll_at = Some(at);
                }
                _ => {
                    job.status = Status::Failed;
                    job.completed_at = Some(now);
                }
            }
            job.status
        }))
    }

    async fn touch(&self, lease: &JobLease, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut tables = self.tables.lock().await;
        Ok(held(&mut tables, lease)
            .map(|job| job.locked_at = Some(now))
            .is_some())
    }

    async fn release_stale(
        &self,
        threshold: Duration,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let cutoff = crate::time::sub(now, threshold);
        let mut tables = self.tables.lock().await;
        let mut released = 0;
        for job in tables.jobs.iter_mut().filter(|job| {
            job.status == Status::Running && job.locked_at.is_some_and(|at| at < cutoff)
        }) {
            job.status = Status::Pending;
            job.worker_id = None;
            job.locked_at = None;
            job.updated_at = now;
            released += 1;
        }
        Ok(released)
    }

    async fn cancel_by_run(
        &self,
        session: &mut dyn Session,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let session = self.own(session)?;
        Ok(session
            .with(|tables| {
                let mut cancelled = 0;
                for job in tables.jobs.iter_mut().filter(|job| {
                    job.workflow_run_id == run_id
                        && matches!(job.status, Status::Pending | Status::Suspended)
                }) {
                    job.status = Status::Cancelled;
                    job.updated_at = now;
                    cancelled += 1;
                }
                cancelled
            })
            .await)
    }

    async fn jobs_by_run(
        &self,
        session: &mut dyn Session,
        run_id: &str,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let session = self.own(session)?;
        Ok(session
            .with(|tables| {
                tables
                    .jobs
                    .iter()
                    .filter(|job| job.workflow_run_id == run_id)
                    .cloned()
                    .collect()
            })
            .await)
    }

    async fn check_lease(
        &self,
        session: &mut dyn Session,
        lease: &JobLease,
    ) -> Result<bool, StoreError> {
        let session = self.own(session)?;
        Ok(session.with(|tables| held(tables, lease).is_some()).await)
    }

    async fn settle_suspended(
        &self,
        session: &mut dyn Session,
        run_id: &str,
        stage_id: &str,
        end: SuspendedJobEnd,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let session = self.own(session)?;
        Ok(session
            .with(|tables| {
                let mut settled = 0;
                for job in tables.jobs.iter_mut().filter(|j| {
                    j.workflow_run_id == run_id
                        && j.stage_id == stage_id
                        && j.status == Status::Suspended
                }) {
                    match &end {
                        SuspendedJobEnd::Completed => job.status = Status::Completed,
                        SuspendedJobEnd::Failed(error) => {
                            job.status = Status::Failed;
                            job.last_error = Some(error.clone());
                        }
                        SuspendedJobEnd::Cancelled => job.status = Status::Cancelled,
                    }
                    if job.status != Status::Cancelled {
                        job.completed_at = Some(now);
                    }
                    job.updated_at = now;
                    settled += 1;
                }
                settled
            })
            .await)
    }

    async fn wait_for_jobs(&self, max_wait: Duration) {
        let _ = tokio::time::timeout(max_wait, self.job_added.notified()).await;
    }

    fn notify_enqueued(&self) {
        self.job_added.notify_waiters();
        // A worker between a failed dequeue and its wait would miss `notify_waiters`; a stored permit wakes it.
        self.job_added.notify_one();
    }
}
