//! Counting the SQL statements the engine sends: sqlx reports every statement it executes as a `tracing`
//! event (target `sqlx::query`, the SQL in `db.statement`); a layer counts them while counting is on.
//! `BEGIN` is sent without such an event and is inferred from the `COMMIT`s and `ROLLBACK`s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Filter, Layer};

static COUNTING: AtomicBool = AtomicBool::new(false);
static COUNTS: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Mutex::default);

/// Starts counting (and forgets earlier counts).
pub fn start() {
    COUNTS.lock().unwrap_or_else(|p| p.into_inner()).clear();
    COUNTING.store(true, Ordering::SeqCst);
}

/// Stops counting; returns each normalized statement with how often it ran.
pub fn stop() -> HashMap<String, u64> {
    COUNTING.store(false, Ordering::SeqCst);
    std::mem::take(&mut *COUNTS.lock().unwrap_or_else(|p| p.into_inner()))
}

/// The layer that counts (install it with [`StatementFilter`]).
pub struct StatementCounter;

/// Lets through `sqlx::query` events while counting is on.
pub struct StatementFilter;

impl<S: Subscriber> Filter<S> for StatementFilter {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _: &Context<'_, S>) -> bool {
        meta.target() == "sqlx::query" && COUNTING.load(Ordering::Relaxed)
    }

    fn callsite_enabled(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if meta.target() == "sqlx::query" {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }
}

#[derive(Default)]
struct Fields {
    summary: String,
    statement: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.statement = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), "summary" | "db.statement") {
            let text = format!("{value:?}");
            self.record_str(field, text.trim_matches('"'));
        }
    }
}

impl<S: Subscriber> Layer<S> for StatementCounter {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let sql = if fields.statement.trim().is_empty() {
            fields.summary
        } else {
            fields.statement
        };
        *COUNTS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(normalize(&sql))
            .or_default() += 1;
    }
}

/// The statement on one line, with long column lists folded to `…`.
pub fn normalize(sql: &str) -> String {
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = fold_list(&flat, "SELECT ", " FROM ");
    let flat = fold_list(&flat, "RETURNING ", "");
    fold_list(&flat, "INSERT INTO ", " VALUES ")
}

/// Replaces a comma-separated list after `start` (up to `end`, or to the end) with `…` when it has more
/// than three entries.
fn fold_list(sql: &str, start: &str, end: &str) -> String {
    let Some(begin) = sql.find(start).map(|i| i + start.len()) else {
        return sql.to_owned();
    };
    let rest = &sql[begin..];
    let stop = if end.is_empty() {
        rest.len()
    } else {
        match rest.find(end) {
            Some(i) => i,
            None => return sql.to_owned(),
        }
    };
    let list = &rest[..stop];
    if list.matches(',').count() < 3 {
        return sql.to_owned();
    }
    let keep = match start {
        "INSERT INTO " => list.split('(').next().unwrap_or("").to_owned() + "(…)",
        _ => "…".to_owned(),
    };
    format!("{}{keep}{}", &sql[..begin], &rest[stop..])
}

/// Why the engine sends a statement (by its normalized text), as far as the benchmark knows.
pub fn explain(sql: &str) -> &'static str {
    const REASONS: &[(&str, &str)] = &[
        ("COMMIT", "ends a transaction"),
        (
            "BEGIN",
            "starts a transaction (inferred: one per COMMIT/ROLLBACK)",
        ),
        (
            "ROLLBACK",
            "abandons a transaction (a guard failed, or a read-only one)",
        ),
        (
            "UPDATE \"job_queue\" SET \"status\" = 'RUNNING'",
            "claims jobs (dequeue)",
        ),
        (
            "UPDATE \"job_queue\" SET \"status\" = 'COMPLETED'",
            "completes the job",
        ),
        (
            "WITH \"picked\" AS (SELECT \"id\" FROM \"job_queue\"",
            "leases jobs, starts their stages, returns them with their run (the hand-off, or a lease)",
        ),
        (
            "WITH \"job\" AS (UPDATE \"job_queue\"",
            "records the outcome: ends the job (fenced), stores the output, writes the stage and its events",
        ),
        (
            "WITH \"inserted\" AS (INSERT INTO \"workflow_stages\"",
            "starts the next group: its stage rows, jobs and events",
        ),
        (
            "SELECT \"key\", \"data\" FROM \"workflow_artifacts\"",
            "reads the outputs the leased stage declared (one query)",
        ),
        ("UPDATE \"job_queue\" SET \"lockedAt\"", "heartbeat"),
        (
            "UPDATE \"job_queue\" SET \"status\" = 'PENDING'",
            "releases stale leases (maintenance)",
        ),
        (
            "SELECT \"id\" FROM \"job_queue\"",
            "checks the job lease (fencing)",
        ),
        ("SELECT … FROM \"job_queue\"", "reads the run's jobs"),
        (
            "INSERT INTO \"job_queue\"",
            "enqueues a job of the next group",
        ),
        ("SELECT pg_notify", "wakes workers of other processes"),
        (
            "SELECT pg_advisory_xact_lock",
            "serializes appends to a run's outbox sequence",
        ),
        (
            "SELECT COALESCE(MAX(\"sequence\")",
            "reads the run's last outbox sequence",
        ),
        ("INSERT INTO \"outbox_events\"", "appends an event"),
        ("SELECT … FROM \"outbox_events\"", "reads events to deliver"),
        ("UPDATE \"outbox_events\"", "marks events delivered"),
        (
            "SELECT … FROM \"workflow_runs\" WHERE \"status\" = 'RUNNING'",
            "finds stuck runs (maintenance)",
        ),
        (
            "SELECT … FROM \"workflow_runs\" WHERE \"id\" = $1 FOR UPDATE",
            "locks the run and its outbox sequence for the recording transaction",
        ),
        ("SELECT … FROM \"workflow_runs\"", "reads the run"),
        (
            "UPDATE \"workflow_runs\" SET \"status\" = 'RUNNING'",
            "claims a pending run (maintenance)",
        ),
        (
            "UPDATE \"workflow_runs\"",
            "writes the run (version claim, transition, completion)",
        ),
        (
            "SELECT … FROM \"workflow_stages\" WHERE \"status\" = 'SUSPENDED'",
            "finds due suspended stages (maintenance)",
        ),
        ("SELECT … FROM \"workflow_stages\"", "reads stage rows"),
        (
            "UPDATE \"workflow_stages\"",
            "writes the stage outcome or RUNNING",
        ),
        ("INSERT INTO \"workflow_stages\"", "creates a stage row"),
        (
            "INSERT INTO \"workflow_artifacts\"",
            "writes the stage output (blob row)",
        ),
        (
            "SELECT … FROM \"workflow_artifacts\"",
            "reads stage outputs (blob rows)",
        ),
        (
            "SELECT \"id\", \"data\" FROM \"workflow_artifacts\"",
            "reads a stage output (blob row)",
        ),
        ("INSERT INTO \"workflow_logs\"", "writes a log line"),
        (
            "INSERT INTO \"idempotency_keys\"",
            "takes the job's idempotency key",
        ),
        (
            "UPDATE \"idempotency_keys\"",
            "stores the command result under its key",
        ),
        (
            "SELECT … FROM \"idempotency_keys\"",
            "reads an idempotency key",
        ),
        (
            "DELETE FROM \"idempotency_keys\"",
            "releases an idempotency key",
        ),
        (
            "SELECT \"version\"",
            "reads a row version after a lost race",
        ),
        ("LISTEN", "the job listener (once per process)"),
    ];
    REASONS
        .iter()
        .find(|(prefix, _)| sql.starts_with(prefix))
        .map_or("", |(_, why)| why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_folded_and_explained() {
        let sql = "SELECT \"id\", \"a\", \"b\", \"c\"\n  FROM \"workflow_runs\" WHERE \"id\" = $1";
        assert_eq!(
            normalize(sql),
            "SELECT … FROM \"workflow_runs\" WHERE \"id\" = $1"
        );
        assert_eq!(explain(&normalize(sql)), "reads the run");
        let insert =
            "INSERT INTO \"outbox_events\" (\"id\", \"a\", \"b\", \"c\") VALUES ($1, $2, $3, $4)";
        assert_eq!(
            normalize(insert),
            "INSERT INTO \"outbox_events\" (…) VALUES ($1, $2, $3, $4)"
        );
        assert_eq!(normalize("COMMIT"), "COMMIT");
        assert_eq!(explain("COMMIT"), "ends a transaction");
    }
}
