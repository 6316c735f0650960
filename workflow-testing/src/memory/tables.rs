//! The tables of the in-memory store, with the indexes the engine's operations need (no operation scans a
//! whole table), and an undo log: every row change in a transaction records the row as it was, and a
//! rollback puts those rows back. Nothing is copied at `begin`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use workflow_core::ids::{JobId, RunId, StageId, StageRecordId};
use workflow_core::ports::JobRecord;
use workflow_core::ports::*;

/// One stored idempotency key.
#[derive(Clone, Debug)]
pub(crate) struct IdempotencyRow {
    pub key: String,
    pub command_type: String,
    pub created_at: DateTime<Utc>,
    pub result: Value,
}

/// A queue position: higher priority first, then older, then earlier inserted.
pub(crate) type QueueKey<Id> = (Reverse<i32>, DateTime<Utc>, u64, Id);

/// A row as it was before a change (`None`: it did not exist).
pub(super) enum Undo {
    Run(RunId, Option<(RunRecord, u64)>),
    Stage(StageRecordId, Option<StageRecord>),
    Log(u64, Option<LogRecord>),
    Annotation(u64, Option<AnnotationRecord>),
    Outbox(String, Option<OutboxRecord>),
    Idempotency((String, String), Option<IdempotencyRow>),
    Job(JobId, Option<(JobRecord, u64)>),
    Blob(String, Option<Value>),
    AiCalls(usize),
}

/// Every table and index.
#[derive(Default)]
pub(crate) struct Tables {
    pub(super) seq: u64,
    pub(super) runs: HashMap<RunId, (RunRecord, u64)>,
    pub pending_runs: BTreeSet<QueueKey<RunId>>,
    pub running_runs: BTreeSet<RunId>,
    pub(super) stages: HashMap<StageRecordId, StageRecord>,
    pub(super) stage_keys: HashMap<(RunId, StageId), StageRecordId>,
    pub(super) stages_of_run: HashMap<RunId, BTreeSet<(i32, i32, StageRecordId)>>,
    pub suspended: BTreeSet<(DateTime<Utc>, StageRecordId)>,
    pub(super) logs: BTreeMap<u64, LogRecord>,
    pub(super) logs_of_run: HashMap<RunId, BTreeSet<u64>>,
    pub(super) annotations: BTreeMap<u64, AnnotationRecord>,
    pub(super) annotations_of_run: HashMap<RunId, BTreeSet<u64>>,
    pub(super) annotations_of_stage: HashMap<StageRecordId, BTreeSet<u64>>,
    pub(super) annotation_keys: HashSet<(RunId, String, String)>,
    pub(super) outbox: HashMap<String, OutboxRecord>,
    pub(super) outbox_of_run: HashMap<RunId, BTreeMap<i32, String>>,
    pub undelivered: BTreeSet<(RunId, i32, String)>,
    pub dead_letters: BTreeSet<(DateTime<Utc>, String)>,
    pub(super) idempotency: HashMap<(String, String), IdempotencyRow>,
    pub(super) jobs: HashMap<JobId, (JobRecord, u64)>,
    pub claimable: BTreeSet<QueueKey<JobId>>,
    pub running_jobs: BTreeSet<JobId>,
    pub(super) jobs_of_run: HashMap<RunId, BTreeSet<(u64, JobId)>>,
    pub blobs: BTreeMap<String, Value>,
    pub ai_calls: Vec<AiCallRecord>,
    pub(super) undo: Option<Vec<Undo>>,
}

pub(super) fn remove_from<K: std::hash::Hash + Eq, T: Ord>(
    map: &mut HashMap<K, BTreeSet<T>>,
    key: &K,
    item: &T,
) {
    if let Some(set) = map.get_mut(key) {
        set.remove(item);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

impl Tables {
    /// Starts recording undo entries (a transaction began).
    pub fn begin(&mut self) {
        self.undo = Some(Vec::new());
    }

    /// Forgets the undo entries (the transaction committed).
    pub fn commit(&mut self) {
        self.undo = None;
    }

    /// Puts back every row a transaction changed, newest change first.
    pub fn rollback(&mut self) {
        let Some(entries) = self.undo.take() else {
            return;
        };
        for entry in entries.into_iter().rev() {
            match entry {
                Undo::Run(id, row) => drop(self.put_run_row(&id, row)),
                Undo::Stage(id, row) => drop(self.put_stage_row(&id, row)),
                Undo::Log(seq, row) => self.put_log_row(seq, row),
                Undo::Annotation(seq, row) => self.put_annotation_row(seq, row),
                Undo::Outbox(id, row) => drop(self.put_outbox_row(&id, row)),
                Undo::Idempotency(key, row) => self.put_idempotency_row(key, row),
                Undo::Job(id, row) => drop(self.put_job_row(&id, row)),
                Undo::Blob(key, value) => drop(self.put_blob_row(&key, value)),
                Undo::AiCalls(len) => self.ai_calls.truncate(len),
            }
        }
    }

    pub(super) fn record(&mut self, entry: impl FnOnce() -> Undo) {
        if let Some(undo) = &mut self.undo {
            undo.push(entry());
        }
    }

    /// The next insertion number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    // ---- runs ----

    pub fn run(&self, id: &str) -> Option<&RunRecord> {
        self.runs.get(id).map(|(run, _)| run)
    }

    pub fn runs(&self) -> impl Iterator<Item = &RunRecord> {
        self.runs.values().map(|(run, _)| run)
    }

    /// Replaces (or inserts, or with `None` removes) a run, keeping the indexes and the undo log.
    pub fn set_run(&mut self, id: &str, run: Option<RunRecord>) {
        let seq = match self.runs.get(id) {
            Some((_, seq)) => *seq,
            None => self.next_seq(),
        };
        let old = self.put_run_row(id, run.map(|run| (run, seq)));
        self.record(|| Undo::Run(id.into(), old));
    }

    /// Puts `row` in place of the run `id` (with its indexes); returns the row it displaced.
    fn put_run_row(&mut self, id: &str, row: Option<(RunRecord, u64)>) -> Option<(RunRecord, u64)> {
        let displaced = self.runs.remove(id);
        if let Some((old, seq)) = &displaced {
            self.pending_runs.remove(&run_key(old, *seq));
            self.running_runs.remove(id);
        }
        if let Some((run, seq)) = row {
            match run.status {
                Status::Pending => {
                    self.pending_runs.insert(run_key(&run, seq));
                }
                Status::Running => {
                    self.running_runs.insert(id.into());
                }
                _ => {}
            }
            self.runs.insert(id.into(), (run, seq));
        }
        displaced
    }

    // ---- stages ----

    pub fn stage(&self, id: &str) -> Option<&StageRecord> {
        self.stages.get(id)
    }

    pub fn stage_by_key(&self, run_id: &str, stage_id: &str) -> Option<&StageRecord> {
        self.stage_keys
            .get(&(run_id.into(), stage_id.into()))
            .and_then(|id| self.stages.get(id))
    }

    /// A run's stage rows, by group then stage number.
    pub fn stages_of_run(&self, run_id: &str) -> Vec<&StageRecord> {
        self.stages_of_run
            .get(run_id)
            .into_iter()
            .flatten()
            .filter_map(|(_, _, id)| self.stages.get(id))
            .collect()
    }

    pub fn set_stage(&mut self, id: &str, stage: Option<StageRecord>) {
        let old = self.put_stage_row(id, stage);
        self.record(|| Undo::Stage(id.into(), old));
    }

    /// Puts `row` in place of the stage `id` (with its indexes); returns the row it displaced.
    fn put_stage_row(&mut self, id: &str, row: Option<StageRecord>) -> Option<StageRecord> {
        let displaced = self.stages.remove(id);
        if let Some(old) = &displaced {
            self.stage_keys
                .remove(&(old.workflow_run_id.clone(), old.stage_id.clone()));
            let position = (old.execution_group, old.stage_number, id.into());
            remove_from(&mut self.stages_of_run, &old.workflow_run_id, &position);
            if let Some(at) = old.next_poll_at {
                self.suspended.remove(&(at, id.into()));
            }
        }
        if let Some(stage) = row {
            self.stage_keys.insert(
                (stage.workflow_run_id.clone(), stage.stage_id.clone()),
                id.into(),
            );
            self.stages_of_run
                .entry(stage.workflow_run_id.clone())
                .or_default()
                .insert((stage.execution_group, stage.stage_number, id.into()));
            if stage.status == Status::Suspended
                && let Some(at) = stage.next_poll_at
            {
                self.suspended.insert((at, id.into()));
            }
            self.stages.insert(id.into(), stage);
        }
        displaced
    }

    // ---- jobs ----

    pub fn job(&self, id: &str) -> Option<&JobRecord> {
        self.jobs.get(id).map(|(job, _)| job)
    }

    pub fn jobs(&self) -> impl Iterator<Item = (&JobRecord, u64)> {
        self.jobs.values().map(|(job, seq)| (job, *seq))
    }

    /// A run's jobs, oldest first.
    pub fn jobs_of_run(&self, run_id: &str) -> Vec<&JobRecord> {
        self.jobs_of_run
            .get(run_id)
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.job(id))
            .collect()
    }

    pub fn set_job(&mut self, id: &str, job: Option<JobRecord>) {
        let seq = match self.jobs.get(id) {
            Some((_, seq)) => *seq,
            None => self.next_seq(),
        };
        let old = self.put_job_row(id, job.map(|job| (job, seq)));
        self.record(|| Undo::Job(id.into(), old));
    }

    /// Puts `row` in place of the job `id` (with its indexes); returns the row it displaced.
    fn put_job_row(&mut self, id: &str, row: Option<(JobRecord, u64)>) -> Option<(JobRecord, u64)> {
        let displaced = self.jobs.remove(id);
        if let Some((old, seq)) = &displaced {
            let seq = *seq;
            self.claimable.remove(&job_key(old, seq));
            self.running_jobs.remove(id);
            remove_from(
                &mut self.jobs_of_run,
                &old.workflow_run_id,
                &(seq, id.into()),
            );
        }
        if let Some((job, seq)) = row {
            match job.status {
                Status::Pending => {
                    self.claimable.insert(job_key(&job, seq));
                }
                Status::Running => {
                    self.running_jobs.insert(id.into());
                }
                _ => {}
            }
            self.jobs_of_run
                .entry(job.workflow_run_id.clone())
                .or_default()
                .insert((seq, id.into()));
            self.jobs.insert(id.into(), (job, seq));
        }
        displaced
    }
}

fn run_key(run: &RunRecord, seq: u64) -> QueueKey<RunId> {
    (Reverse(run.priority), run.created_at, seq, run.id.clone())
}

fn job_key(job: &JobRecord, seq: u64) -> QueueKey<JobId> {
    (Reverse(job.priority), job.created_at, seq, job.id.clone())
}
