//! The rows of the in-memory store's record tables (logs, annotations, the outbox, idempotency keys,
//! blobs and AI calls), with their indexes and undo entries; runs, stages and jobs are in `tables.rs`.

use super::tables::{IdempotencyRow, Tables, Undo, remove_from};
use serde_json::Value;
use workflow_core::ports::*;

impl Tables {
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

    pub(super) fn put_log_row(&mut self, seq: u64, row: Option<LogRecord>) {
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
        self.annotation_keys
            .contains(&(run_id.into(), key.to_owned(), idempotency_key.to_owned()))
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

    pub(super) fn put_annotation_row(&mut self, seq: u64, row: Option<AnnotationRecord>) {
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
        let old = self.put_outbox_row(id, row);
        self.record(|| Undo::Outbox(id.to_owned(), old));
    }

    /// Puts `row` in place of the event `id` (with its indexes); returns the row it displaced.
    pub(super) fn put_outbox_row(
        &mut self,
        id: &str,
        row: Option<OutboxRecord>,
    ) -> Option<OutboxRecord> {
        let displaced = self.outbox.remove(id);
        if let Some(old) = &displaced {
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
        displaced
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

    pub(super) fn put_idempotency_row(
        &mut self,
        id: (String, String),
        row: Option<IdempotencyRow>,
    ) {
        match row {
            Some(row) => self.idempotency.insert(id, row),
            None => self.idempotency.remove(&id),
        };
    }

    // ---- blobs and AI calls ----

    pub fn set_blob(&mut self, key: &str, value: Option<Value>) {
        let old = self.put_blob_row(key, value);
        self.record(|| Undo::Blob(key.to_owned(), old));
    }

    /// Puts `value` in place of the blob `key`; returns the value it displaced.
    pub(super) fn put_blob_row(&mut self, key: &str, value: Option<Value>) -> Option<Value> {
        match value {
            Some(value) => self.blobs.insert(key.to_owned(), value),
            None => self.blobs.remove(key),
        }
    }

    pub fn add_ai_call(&mut self, call: AiCallRecord) {
        let len = self.ai_calls.len();
        self.record(|| Undo::AiCalls(len));
        self.ai_calls.push(call);
    }
}
