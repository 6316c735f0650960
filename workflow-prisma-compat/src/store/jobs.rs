//! [`JobTransport`] for [`SqlStore`]. Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL and one atomic
//! statement on SQLite; workers are woken by `LISTEN`/`NOTIFY` on PostgreSQL and in-process otherwise. A
//! claimed job row that cannot be read is failed (quarantined) so that it stops coming back.

use super::session::SqlSession;
use super::{Flavor, SqlStore};
use crate::ops::jobs as ops;
use crate::sql::SqlConn;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;
use workflow_core::ports::jobs::{JobLease, JobRecord, NewJob, SuspendedJobEnd};
use workflow_core::ports::{JobTransport, Session, Status, StoreError};

impl<DB: Flavor> SqlStore<DB>
where
    DB::Connection: SqlConn,
{
    fn own<'s>(&self, session: &'s mut dyn Session) -> Result<&'s mut SqlSession<DB>, StoreError> {
        session
            .as_any_mut()
            .downcast_mut::<SqlSession<DB>>()
            .ok_or_else(|| {
                StoreError::Misconfigured(format!(
                    "the {} job transport was given a session of another kind of store",
                    DB::NAME
                ))
            })
    }

    /// Claims up to `limit` jobs; returns the readable ones and how many unreadable ones were quarantined.
    async fn claim(
        &self,
        worker_id: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<(Vec<JobRecord>, usize), StoreError> {
        let mut conn = self.connection().await?;
        let claimed = ops::dequeue(&mut *conn, worker_id, limit, now).await?;
        let mut jobs = Vec::with_capacity(claimed.len());
        let mut quarantined = 0;
        for job in claimed {
            match job {
                Ok(job) => jobs.push(job),
                Err(StoreError::CorruptRow {
                    row_id,
                    column,
                    message,
                    ..
                }) => {
                    let error = format!("job row cannot be read: column {column}: {message}");
                    tracing::error!(job_id = %row_id, %error, "quarantining a corrupt job");
                    ops::quarantine(&mut *conn, &row_id, &error, now).await?;
                    quarantined += 1;
                }
                Err(other) => return Err(other),
            }
        }
        Ok((jobs, quarantined))
    }
}

#[async_trait]
impl<DB: Flavor> JobTransport for SqlStore<DB>
where
    DB::Connection: SqlConn,
{
    async fn enqueue(
        &self,
        session: &mut dyn Session,
        jobs: Vec<NewJob>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        ops::enqueue(self.own(session)?.conn(), jobs, now).await
    }

    async fn dequeue(
        &self,
        worker_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<JobRecord>, StoreError> {
        loop {
            let (mut jobs, quarantined) = self.claim(worker_id, 1, now).await?;
            if let Some(job) = jobs.pop() {
                return Ok(Some(job));
            }
            if quarantined == 0 {
                return Ok(None);
            }
        }
    }

    async fn dequeue_batch(
        &self,
        worker_id: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self.claim(worker_id, limit, now).await?.0)
    }

    async fn complete(&self, lease: &JobLease, now: DateTime<Utc>) -> Result<bool, StoreError> {
        ops::complete(&mut *self.connection().await?, lease, now).await
    }

    async fn suspend(
        &self,
        lease: &JobLease,
        next_poll_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        ops::suspend(&mut *self.connection().await?, lease, next_poll_at, now).await
    }

    async fn fail(
        &self,
        lease: &JobLease,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Status>, StoreError> {
        ops::fail(&mut *self.connection().await?, lease, error, retry_at, now).await
    }

    async fn touch(&self, lease: &JobLease, now: DateTime<Utc>) -> Result<bool, StoreError> {
        ops::touch(&mut *self.connection().await?, lease, now).await
    }

    async fn release_stale(
        &self,
        threshold: Duration,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        ops::release_stale(&mut *self.connection().await?, threshold, now).await
    }

    async fn cancel_by_run(
        &self,
        session: &mut dyn Session,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        ops::cancel_by_run(self.own(session)?.conn(), run_id, now).await
    }

    async fn jobs_by_run(
        &self,
        session: &mut dyn Session,
        run_id: &str,
    ) -> Result<Vec<JobRecord>, StoreError> {
        ops::by_run(self.own(session)?.conn(), run_id).await
    }

    async fn check_lease(
        &self,
        session: &mut dyn Session,
        lease: &JobLease,
    ) -> Result<bool, StoreError> {
        ops::check_lease(self.own(session)?.conn(), lease).await
    }

    async fn settle_suspended(
        &self,
        session: &mut dyn Session,
        run_id: &str,
        stage_id: &str,
        end: SuspendedJobEnd,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        ops::settle_suspended(self.own(session)?.conn(), run_id, stage_id, end, now).await
    }

    async fn wait_for_jobs(&self, max_wait: Duration) {
        self.listener
            .get_or_init(|| DB::spawn_listener(&self.pool, self.job_added.clone()));
        let _ = tokio::time::timeout(max_wait, self.job_added.notified()).await;
    }

    fn notify_enqueued(&self) {
        self.wake();
    }
}
