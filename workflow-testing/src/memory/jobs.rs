//! Job operations of the in-memory store: the queue index keeps claims and lease checks independent of
//! the number of finished jobs.

use super::tables::Tables;
use chrono::{DateTime, Utc};
use std::time::Duration;
use workflow_core::ids::JobId;
use workflow_core::ports::{ClaimedJob, JobClaim, JobEnd, JobLease, JobRecord, NewJob, StaleJobs};
use workflow_core::ports::{StageUpdate, Status, StoreError, SuspendedJobEnd, claim_starts_stage};

impl Tables {
    fn held(&self, lease: &JobLease) -> Option<JobRecord> {
        self.job(&lease.job_id)
            .filter(|job| job.status == Status::Running && job.attempt == lease.attempt)
            .cloned()
    }

    pub fn enqueue_jobs(
        &mut self,
        jobs: Vec<NewJob>,
        max_attempts: i32,
        now: DateTime<Utc>,
    ) -> Vec<JobId> {
        jobs.into_iter()
            .map(|job| {
                let record = JobRecord {
                    id: workflow_core::ids::cuid().into(),
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
                self.set_job(&id, Some(record));
                id
            })
            .collect()
    }

    pub fn claim_jobs(&mut self, claim: &JobClaim, now: DateTime<Utc>) -> Vec<ClaimedJob> {
        let ids: Vec<JobId> = self
            .claimable
            .iter()
            .filter_map(|(_, _, _, id)| self.job(id))
            .filter(|job| job.next_poll_at.is_none_or(|at| at <= now))
            .filter(|job| claim.workflows.iter().any(|id| *id == job.workflow_id))
            .take(claim.limit)
            .map(|job| job.id.clone())
            .collect();
        ids.into_iter()
            .filter_map(|id| {
                let mut job = self.job(&id)?.clone();
                job.status = Status::Running;
                job.attempt += 1;
                job.worker_id = Some(claim.worker_id.clone());
                job.locked_at = Some(now);
                job.started_at = Some(now);
                job.updated_at = now;
                self.set_job(&id, Some(job.clone()));
                let run = self.run(&job.workflow_run_id).cloned();
                let stage = self
                    .stage_by_key(&job.workflow_run_id, &job.stage_id)
                    .cloned();
                let startable = claim_starts_stage(run.as_ref(), stage.as_ref());
                let stage = match stage {
                    Some(stage) if startable => {
                        let update = StageUpdate {
                            status: Some(Status::Running),
                            started_at: Some(Some(now)),
                            ..Default::default()
                        };
                        self.update_stage(&stage.id, update, None, now).ok()
                    }
                    other => other,
                };
                Some(ClaimedJob {
                    job,
                    run,
                    stage,
                    started: startable,
                })
            })
            .collect()
    }

    pub fn end_job(
        &mut self,
        lease: &JobLease,
        end: &JobEnd,
        now: DateTime<Utc>,
    ) -> Option<Status> {
        let mut job = self.held(lease)?;
        job.updated_at = now;
        match end {
            JobEnd::Complete => {
                job.status = Status::Completed;
                job.completed_at = Some(now);
            }
            JobEnd::Suspend { next_poll_at } => {
                job.status = Status::Suspended;
                job.next_poll_at = Some(*next_poll_at);
                job.worker_id = None;
                job.locked_at = None;
            }
            JobEnd::Fail { error, retry_at } => {
                job.last_error = Some(error.clone());
                match retry_at {
                    Some(at) if job.attempt < job.max_attempts => {
                        job.status = Status::Pending;
                        job.worker_id = None;
                        job.locked_at = None;
                        job.next_poll_at = Some(*at);
                    }
                    _ => {
                        job.status = Status::Failed;
                        job.completed_at = Some(now);
                    }
                }
            }
        }
        let status = job.status;
        self.set_job(&lease.job_id, Some(job));
        Some(status)
    }

    pub fn touch_job(&mut self, lease: &JobLease, now: DateTime<Utc>) -> bool {
        let Some(mut job) = self.held(lease) else {
            return false;
        };
        job.locked_at = Some(now);
        let (run_id, stage_id) = (job.workflow_run_id.clone(), job.stage_id.clone());
        self.set_job(&lease.job_id, Some(job));
        if let Some(mut stage) = self.stage_by_key(&run_id, &stage_id).cloned() {
            stage.updated_at = now;
            self.set_stage(&stage.id.clone(), Some(stage));
        }
        true
    }

    pub fn release_stale_jobs(
        &mut self,
        threshold: Duration,
        error: &str,
        now: DateTime<Utc>,
    ) -> StaleJobs {
        let cutoff = workflow_core::time::sub(now, threshold);
        let stale: Vec<JobRecord> = self
            .running_jobs
            .iter()
            .filter_map(|id| self.job(id))
            .filter(|job| job.locked_at.is_some_and(|at| at < cutoff))
            .cloned()
            .collect();
        let mut outcome = StaleJobs::default();
        for mut job in stale {
            job.updated_at = now;
            job.worker_id = None;
            job.locked_at = None;
            if job.attempt < job.max_attempts {
                job.status = Status::Pending;
                outcome.released += 1;
            } else {
                job.status = Status::Failed;
                job.completed_at = Some(now);
                job.last_error = Some(error.to_owned());
                outcome.exhausted.push(job.clone());
            }
            self.set_job(&job.id.clone(), Some(job));
        }
        outcome
    }

    pub fn cancel_jobs_of_run(&mut self, run_id: &str, now: DateTime<Utc>) -> usize {
        let doomed: Vec<JobRecord> = self
            .jobs_of_run(run_id)
            .into_iter()
            .filter(|job| matches!(job.status, Status::Pending | Status::Suspended))
            .cloned()
            .collect();
        for mut job in doomed.iter().cloned() {
            job.status = Status::Cancelled;
            job.updated_at = now;
            self.set_job(&job.id.clone(), Some(job));
        }
        doomed.len()
    }

    pub fn lease_holds(&self, lease: &JobLease) -> bool {
        self.held(lease).is_some()
    }

    pub fn settle_suspended_job(
        &mut self,
        run_id: &str,
        stage_id: &str,
        end: &SuspendedJobEnd,
        now: DateTime<Utc>,
    ) -> usize {
        let suspended: Vec<JobRecord> = self
            .jobs_of_run(run_id)
            .into_iter()
            .filter(|j| j.stage_id == stage_id && j.status == Status::Suspended)
            .cloned()
            .collect();
        for mut job in suspended.iter().cloned() {
            match end {
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
            self.set_job(&job.id.clone(), Some(job));
        }
        suspended.len()
    }

    pub fn quarantine_job(
        &mut self,
        id: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(mut job) = self.job(id).cloned() else {
            return Ok(());
        };
        job.status = Status::Failed;
        job.last_error = Some(error.to_owned());
        job.completed_at = Some(now);
        job.updated_at = now;
        self.set_job(id, Some(job));
        Ok(())
    }
}
