//! The tables of the in-memory store, with the indexes the engine's operations need (no operation scans a
//! whole table), and an undo log: every row change in a transaction records the row as it was, and a
//! rollback puts those rows back. Nothing is copied at `begin`.

use crate::ports::jobs::JobRecord;
use crate::ports::*;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// One stored idempotency key.
#[derive(Clone, Debug)]
pub(crate) struct IdempotencyRow {
    pub key: String,
    pub command_type: String,
    pub created_at: DateTime<Utc>,
    pub result: Value,
}

/// A queue position: higher priority first, then older, then earlier inserted.
pub(crate) type QueueKey = (Reverse<i32>, DateTime<Utc>, u64, String);

/// A row as it was before a change (`None`: it did not exist).
enum Undo {
    Run(String, Option<(RunRecord, u64)>),
    Stage(String, Option<StageRecord>),
    Log(u64, Option<LogRecord>),
    Annotation(u64, Option<AnnotationRecord>),
    Outbox(String, Option<OutboxRecord>),
    Idempotency((String, String), Option<IdempotencyRow>),
    Job(String, Option<(JobRecord, u64)>),
    Blob(String, Option<Value>),
    AiCalls(usize),
}

/// Every table and index.
#[derive(Default)]
pub(crate) struct Tables {
    seq: u64,
    runs: HashMap<String, (RunRecord, u64)>,
    pub pending_runs: BTreeSet<QueueKey>,
    pub running_runs: BTreeSet<String>,
    stages: HashMap<String, StageRecord>,
    stage_keys: HashMap<(String, String), String>,
    stages_of_run: HashMap<String, BTreeSet<(i32, i32, String)>>,
    pub suspended: BTreeSet<(DateTime<Utc>, String)>,
    logs: BTreeMap<u64, LogRecord>,
    logs_of_run: HashMap<String, BTreeSet<u64>>,
    annotations: BTreeMap<u64, AnnotationRecord>,
    annotations_of_run: HashMap<String, BTreeSet<u64>>,
    annotations_of_stage: HashMap<String, BTreeSet<u64>>,
    annotation_keys: HashSet<(String, String, String)>,
    outbox: HashMap<String, OutboxRecord>,
    outbox_of_run: HashMap<String, BTreeMap<i32, String>>,
    pub undelivered: BTreeSet<(String, i32, String)>,
    pub dead_letters: BTreeSet<(DateTime<Utc>, String)>,
    idempotency: HashMap<(String, String), IdempotencyRow>,
    jobs: HashMap<String, (JobRecord, u64)>,
    pub claimable: BTreeSet<QueueKey>,
    pub running_jobs: BTreeSet<String>,
    jobs_of_run: HashMap<String, BTreeSet<(u64, String)>>,
    pub blobs: BTreeMap<String, Value>,
    pub ai_calls: Vec<AiCallRecord>,
    undo: Option<Vec<Undo>>,
}

fn remove_from<K: std::hash::Hash + Eq, T: Ord>(
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
                Undo::Run(id, row) => self.put_run_row(&id, row),
                Undo::Stage(id, row) => self.put_stage_row(&id, row),
                Undo::Log(seq, row) => self.put_log_row(seq, row),
                Undo::Annotation(seq, row) => self.put_annotation_row(seq, row),
                Undo::Outbox(id, row) => self.put_outbox_row(&id, row),
                Undo::Idempotency(key, row) => self.put_idempotency_row(key, row),
                Undo::Job(id, row) => self.put_job_row(&id, row),
                Undo::Blob(key, value) => self.put_blob_row(&key, value),
                Undo::AiCalls(len) => self.ai_calls.truncate(len),
            }
        }
    }

    fn record(&mut self, entry: impl FnOnce() -> Undo) {
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
        let old = self.runs.get(id).cloned();
        self.record(|| Undo::Run(id.to_owned(), old));
        self.put_run_row(id, run.map(|run| (run, seq)));
    }

    fn put_run_row(&mut self, id: &str, row: Option<(RunRecord, u64)>) {
        if let Some((old, seq)) = self.runs.remove(id) {
            self.pending_runs.remove(&run_key(&old, seq));
            self.running_runs.remove(id);
        }
        if let Some((run, seq)) = row {
            match run.status {
                Status::Pending => {
                    self.pending_runs.insert(run_key(&run, seq));
                }
                Status::Running => {
                    self.running_runs.insert(id.to_owned());
                }
                _ => {}
            }
            self.runs.insert(id.to_owned(), (run, seq));
        }
    }

    // ---- stages ----

    pub fn stage(&self, id: &str) -> Option<&StageRecord> {
        self.stages.get(id)
    }

    pub fn stage_by_key(&self, run_id: &str, stage_id: &str) -> Option<&StageRecord> {
        self.stage_keys
            .get(&(run_id.to_owned(), stage_id.to_owned()))
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
        let old = self.stages.get(id).cloned();
        self.record(|| Undo::Stage(id.to_owned(), old));
        self.put_stage_row(id, stage);
    }

    fn put_stage_row(&mut self, id: &str, row: Option<StageRecord>) {
        if let Some(old) = self.stages.remove(id) {
            self.stage_keys
                .remove(&(old.workflow_run_id.clone(), old.stage_id.clone()));
            let position = (old.execution_group, old.stage_number, id.to_owned());
            remove_from(&mut self.stages_of_run, &old.workflow_run_id, &position);
            if let Some(at) = old.next_poll_at {
                self.suspended.remove(&(at, id.to_owned()));
            }
        }
        if let Some(stage) = row {
            self.stage_keys.insert(
                (stage.workflow_run_id.clone(), stage.stage_id.clone()),
                id.to_owned(),
            );
            self.stages_of_run
                .entry(stage.workflow_run_id.clone())
                .or_default()
                .insert((stage.execution_group, stage.stage_number, id.to_owned()));
            if stage.status == Status::Suspended
                && let Some(at) = stage.next_poll_at
            {
                self.suspended.insert((at, id.to_owned()));
            }
            self.stages.insert(id.to_owned(), stage);
        }
    }

    // ---- logs ----

    pub fn logs_of_run(&self, run_id: &str) -> Vec<&LogRecord> {
        self.logs_of_run
            .get(run_id)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.logs.get(seq))
            .collect()
    }

    pub fn add_log(&mut self, log: LogRecord) {
        let seq = self.next_seq();
        self.record(|| Undo::Log(seq, None));
        self.put_log_row(seq, Some(log));
    }

    /// Removes the logs of a stage row (the foreign key cascades).
    pub fn remove_logs_of_stage(&mut self, run_id: &str, stage_record_id: &str) {
        let doomed: Vec<u64> = self
            .logs_of_run
            .get(run_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|seq| {
                self.logs
                    .get(seq)
                    .and_then(|l| l.workflow_stage_id.as_deref())
                    == Some(stage_record_id)
            })
            .collect();
        for seq in doomed {
            let old = self.logs.get(&seq).cloned();
            self.record(|| Undo::Log(seq, old));
            self.put_log_row(seq, None);
        }
    }

    fn put_log_row(&mut self, seq: u64, row: Option<LogRecord>) {
        if let Some(old) = self.logs.remove(&seq)
            && let Some(run) = &old.workflow_run_id
        {
            remove_from(&mut self.logs_of_run, run, &seq);
        }
        if let Some(log) = row {
            if let Some(run) = &log.workflow_run_id {
                self.logs_of_run.entry(run.clone()).or_default().insert(seq);
            }
            self.logs.insert(seq, log);
        }
    }

    // ---- annotations ----

    pub fn annotations_of_run(&self, run_id: &str) -> Vec<&AnnotationRecord> {
        self.annotations_of_run
            .get(run_id)
            .into_iter()
            .flatten()
            .filter_map(|seq| self.annotations.get(seq))
            .collect()
    }

    /// Whether a row with this non-null idempotency key exists for `(run, key)`.
    pub fn annotation_exists(&self, run_id: &str, key: &str, idempotency_key: &str) -> bool {
        self.annotation_keys.contains(&(
            run_id.to_owned(),
            key.to_owned(),
            idempotency_key.to_owned(),
        ))
    }

    pub fn add_annotation(&mut self, row: AnnotationRecord) {
        let seq = self.next_seq();
        self.record(|| Undo::Annotation(seq, None));
        self.put_annotation_row(seq, Some(row));
    }

    /// Clears the stage reference of a stage row's annotations (the foreign key sets null).
    pub fn detach_annotations_of_stage(&mut self, stage_record_id: &str) {
        let seqs: Vec<u64> = self
            .annotations_of_stage
            .get(stage_record_id)
            .into_iter()
            .flatten()
            .copied()
            .collect();
        for seq in seqs {
            let old = self.annotations.get(&seq).cloned();
            let Some(mut row) = old.clone() else { continue };
            row.workflow_stage_record_id = None;
            self.record(|| Undo::Annotation(seq, old));
            self.put_annotation_row(seq, Some(row));
        }
    }

    fn put_annotation_row(&mut self, seq: u64, row: Option<AnnotationRecord>) {
        if let Some(old) = self.annotations.remove(&seq) {
            remove_from(&mut self.annotations_of_run, &old.workflow_run_id, &seq);
            if let Some(stage) = &old.workflow_stage_record_id {
                remove_from(&mut self.annotations_of_stage, stage, &seq);
            }
            if let Some(key) = &old.idempotency_key {
                self.annotation_keys.remove(&(
                    old.workflow_run_id.clone(),
                    old.key.clone(),
                    key.clone(),
                ));
            }
        }
        if let Some(row) = row {
            self.annotations_of_run
                .entry(row.workflow_run_id.clone())
                .or_default()
                .insert(seq);
            if let Some(stage) = &row.workflow_stage_record_id {
                self.annotations_of_stage
                    .entry(stage.clone())
                    .or_default()
                    .insert(seq);
            }
            if let Some(key) = &row.idempotency_key {
                self.annotation_keys.insert((
                    row.workflow_run_id.clone(),
                    row.key.clone(),
                    key.clone(),
                ));
            }
            self.annotations.insert(seq, row);
        }
    }

    // ---- outbox ----

    pub fn outbox_row(&self, id: &str) -> Option<&OutboxRecord> {
        self.outbox.get(id)
    }

    pub fn outbox_of_run(&self, run_id: &str) -> Vec<&OutboxRecord> {
        self.outbox_of_run
            .get(run_id)
            .into_iter()
            .flat_map(|by_sequence| by_sequence.values())
            .filter_map(|id| self.outbox.get(id))
            .collect()
    }

    /// The run's highest sequence so far.
    pub fn last_sequence(&self, run_id: &str) -> i32 {
        self.outbox_of_run
            .get(run_id)
            .and_then(|by_sequence| by_sequence.keys().next_back().copied())
            .unwrap_or(0)
    }

    pub fn set_outbox(&mut self, id: &str, row: Option<OutboxRecord>) {
        let old = self.outbox.get(id).cloned();
        self.record(|| Undo::Outbox(id.to_owned(), old));
        self.put_outbox_row(id, row);
    }

    fn put_outbox_row(&mut self, id: &str, row: Option<OutboxRecord>) {
        if let Some(old) = self.outbox.remove(id) {
            if let Some(by_sequence) = self.outbox_of_run.get_mut(&old.workflow_run_id) {
                by_sequence.remove(&old.sequence);
            }
            self.undelivered
                .remove(&(old.workflow_run_id.clone(), old.sequence, id.to_owned()));
            if let Some(at) = old.dlq_at {
                self.dead_letters.remove(&(at, id.to_owned()));
            }
        }
        if let Some(event) = row {
            self.outbox_of_run
                .entry(event.workflow_run_id.clone())
                .or_default()
                .insert(event.sequence, id.to_owned());
            match (event.published_at, event.dlq_at) {
                (None, None) => {
                    self.undelivered.insert((
                        event.workflow_run_id.clone(),
                        event.sequence,
                        id.to_owned(),
                    ));
                }
                (_, Some(at)) => {
                    self.dead_letters.insert((at, id.to_owned()));
                }
                _ => {}
            }
            self.outbox.insert(id.to_owned(), event);
        }
    }

    // ---- idempotency ----

    pub fn idempotency_row(&self, key: &str, command: &str) -> Option<&IdempotencyRow> {
        self.idempotency.get(&(key.to_owned(), command.to_owned()))
    }

    pub fn idempotency_rows(&self) -> impl Iterator<Item = &IdempotencyRow> {
        self.idempotency.values()
    }

    pub fn set_idempotency(&mut self, key: &str, command: &str, row: Option<IdempotencyRow>) {
        let id = (key.to_owned(), command.to_owned());
        let old = self.idempotency.get(&id).cloned();
        self.record(|| Undo::Idempotency(id.clone(), old));
        self.put_idempotency_row(id, row);
    }

    fn put_idempotency_row(&mut self, id: (String, String), row: Option<IdempotencyRow>) {
        match row {
            Some(row) => self.idempotency.insert(id, row),
            None => self.idempotency.remove(&id),
        };
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
        let old = self.jobs.get(id).cloned();
        self.record(|| Undo::Job(id.to_owned(), old));
        self.put_job_row(id, job.map(|job| (job, seq)));
    }

    fn put_job_row(&mut self, id: &str, row: Option<(JobRecord, u64)>) {
        if let Some((old, seq)) = self.jobs.remove(id) {
            self.claimable.remove(&job_key(&old, seq));
            self.running_jobs.remove(id);
            remove_from(
                &mut self.jobs_of_run,
                &old.workflow_run_id,
                &(seq, id.to_owned()),
            );
        }
        if let Some((job, seq)) = row {
            match job.status {
                Status::Pending => {
                    self.claimable.insert(job_key(&job, seq));
                }
                Status::Running => {
                    self.running_jobs.insert(id.to_owned());
                }
                _ => {}
            }
            self.jobs_of_run
                .entry(job.workflow_run_id.clone())
                .or_default()
                .insert((seq, id.to_owned()));
            self.jobs.insert(id.to_owned(), (job, seq));
        }
    }

    // ---- blobs and AI calls ----

    pub fn set_blob(&mut self, key: &str, value: Option<Value>) {
        let old = self.blobs.get(key).cloned();
        self.record(|| Undo::Blob(key.to_owned(), old));
        self.put_blob_row(key, value);
    }

    fn put_blob_row(&mut self, key: &str, value: Option<Value>) {
        match value {
            Some(value) => self.blobs.insert(key.to_owned(), value),
            None => self.blobs.remove(key),
        };
    }

    pub fn add_ai_call(&mut self, call: AiCallRecord) {
        let len = self.ai_calls.len();
        self.record(|| Undo::AiCalls(len));
        self.ai_calls.push(call);
    }
}

fn run_key(run: &RunRecord, seq: u64) -> QueueKey {
    (Reverse(run.priority), run.created_at, seq, run.id.clone())
}

fn job_key(job: &JobRecord, seq: u64) -> QueueKey {
    (Reverse(job.priority), job.created_at, seq, job.id.clone())
}
