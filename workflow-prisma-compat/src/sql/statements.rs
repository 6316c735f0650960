//! Every fixed statement of the stores, per dialect, built once.

use super::{Dialect, RELAY_LOCK_CLASS};
use crate::tables::{AI_CALLS, JOBS, LOGS, OUTBOX, RUNS, STAGES};
use std::sync::OnceLock;

/// The fixed statements of one dialect (`$n` placeholders; the comment on each field lists them). Some
/// are used by one database only.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) struct Statements {
    /// `$1` id, `$2` now, `$3` workflowId, `$4` name, `$5` type, `$6` input, `$7` config, `$8` priority,
    /// `$9` metadata. Returns the run.
    pub create_run: &'static str,
    /// `$1` id.
    pub get_run: &'static str,
    /// `$1` id: the run, locked with its outbox sequence (PostgreSQL).
    pub lock_run: &'static str,
    /// `$1` now, `$2` limit.
    pub claim_pending_runs: &'static str,
    /// `$1` id, `$2` now, `$3` output.
    pub quarantine_run: &'static str,
    /// `$1` since, `$2` limit: ids.
    pub stuck_runs: &'static str,
    /// `$1` id, `$2` now, `$3` runId, `$4` stageId, `$5` name, `$6` number, `$7` group, `$8` attempt,
    /// `$9` status, `$10` startedAt, `$11` config; the `ON CONFLICT` clause follows.
    pub insert_stage: &'static str,
    /// `$1` runId, `$2` stageId.
    pub get_stage: &'static str,
    /// `$1` runId.
    pub stages_by_run: &'static str,
    /// `$1` before, `$2` limit.
    pub suspended_due: &'static str,
    /// No arguments: the earliest `nextPollAt` of a suspended stage.
    pub next_suspended_poll: &'static str,
    /// `$1` runId, `$2` group.
    pub delete_stages_from_group: &'static str,
    /// `$1` id, `$2` now, `$3` runId, `$4` stageRecordId, `$5` level, `$6` message, `$7` metadata.
    pub create_log: &'static str,
    /// `$1` runId.
    pub logs_by_run: &'static str,
    /// 14 columns of an annotation; duplicates of a non-null idempotency key are skipped.
    pub insert_annotation: &'static str,
    /// `$1` runId: the highest sequence.
    pub last_sequence: &'static str,
    /// `$1` id, `$2` now, `$3` runId, `$4` sequence, `$5` type, `$6` payload, `$7` causation, `$8` occurredAt.
    pub insert_event: &'static str,
    /// `$1` limit.
    pub claim_outbox: &'static str,
    /// `$1` runId.
    pub outbox_by_run: &'static str,
    /// `$1` runId, `$2` after sequence, `$3` limit (the event cursor of a run).
    pub outbox_after: &'static str,
    /// `$1` after id, `$2` before id, `$3` limit (the event feed of all runs).
    pub outbox_feed: &'static str,
    /// `$1` id: the new retry count.
    pub increment_retry: &'static str,
    /// `$1` id, `$2` now.
    pub move_to_dlq: &'static str,
    /// `$1` limit.
    pub replay_dlq: &'static str,
    /// `$1` id, `$2` now, `$3` key, `$4` command, `$5` marker.
    pub insert_idempotency: &'static str,
    /// `$1` key, `$2` command: id, createdAt, result.
    pub get_idempotency: &'static str,
    /// `$1` id, `$2` old createdAt, `$3` now.
    pub reclaim_idempotency: &'static str,
    /// `$1` key, `$2` command, `$3` result.
    pub complete_idempotency: &'static str,
    /// `$1` key, `$2` command.
    pub release_idempotency: &'static str,
    /// `$1` id, `$2` now, `$3` runId, `$4` stageId, `$5` priority, `$6` payload.
    pub insert_job: &'static str,
    /// `$1` job id, `$2` attempt, `$3` now: completes a held job; returns its status.
    pub complete_job: &'static str,
    /// `$1` job id, `$2` attempt, `$3` now, `$4` nextPollAt.
    pub suspend_job: &'static str,
    /// `$1` job id, `$2` attempt, `$3` now, `$4` error, `$5` retryAt (NULL: no retry).
    pub fail_job: &'static str,
    /// `$1` job id, `$2` attempt, `$3` now: refreshes a held lease; returns the job's run and stage.
    pub touch_job: &'static str,
    /// `$1` runId, `$2` stageId, `$3` now: the stage row's `updatedAt` (a heartbeat).
    pub touch_stage: &'static str,
    /// `$1` now, `$2` cutoff, `$3` error.
    pub release_stale_jobs: &'static str,
    /// `$1` runId, `$2` now.
    pub cancel_jobs_of_run: &'static str,
    /// `$1` runId.
    pub jobs_by_run: &'static str,
    /// `$1` runId.
    pub active_jobs_of_run: &'static str,
    /// `$1` job id, `$2` attempt.
    pub lease_holds: &'static str,
    /// `$1` runId, `$2` stageId, `$3` now.
    pub settle_completed: &'static str,
    /// `$1` runId, `$2` stageId, `$3` now.
    pub settle_cancelled: &'static str,
    /// `$1` runId, `$2` stageId, `$3` now, `$4` error.
    pub settle_failed: &'static str,
    /// `$1` id, `$2` error, `$3` now.
    pub quarantine_job: &'static str,
    /// `$1` id, `$2` now, `$3` runId, `$4` key, `$5` data, `$6` size.
    pub put_blob: &'static str,
    /// `$1` runId, `$2` key.
    pub get_blob: &'static str,
    /// `$1` runId, `$2` key.
    pub delete_blob: &'static str,
    /// `$1` runId, `$2` prefix.
    pub list_blobs: &'static str,
    /// `$1` runId, `$2` prefix.
    pub delete_blob_prefix: &'static str,
    /// 12 columns of an AI call.
    pub insert_ai_call: &'static str,
    /// AI calls under a topic prefix, oldest first, by [`TopicMatch`].
    pub ai_calls_by_topic: [&'static str; 2],
    /// Count and sums (calls, input tokens, output tokens, cost) of AI calls under a topic prefix, by
    /// [`TopicMatch`].
    pub ai_usage_by_topic: [&'static str; 2],
}

/// How a statement selects the `ai_calls` rows under a topic prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TopicMatch {
    /// `substr(topic, 1, length($1)) = $1`: exact under any collation, not served by the topic index.
    Exact = 0,
    /// `$1 <= topic < $2` with `$2` the prefix's successor: served by `ai_calls_topic_idx`, exact only
    /// where text sorts by code point (SQLite's `BINARY`; PostgreSQL's `C`/`POSIX`/`C.UTF-8`).
    Range = 1,
}

impl TopicMatch {
    /// The variant to use for `prefix` and the upper bound it binds: a range needs the prefix's
    /// successor, and a prefix without one (empty) matches everything, which the exact form expresses.
    pub(crate) fn bounds(self, prefix: &str) -> (TopicMatch, Option<String>) {
        match (self, prefix_successor(prefix)) {
            (TopicMatch::Range, Some(upper)) => (TopicMatch::Range, Some(upper)),
            _ => (TopicMatch::Exact, None),
        }
    }

    const PREDICATES: [&'static str; 2] = [
        "substr(\"topic\", 1, length($1)) = $1",
        "\"topic\" >= $1 AND \"topic\" < $2",
    ];
}

/// The smallest string greater than every string that starts with `prefix`, in code-point order: the
/// prefix with its last character incremented (characters that cannot be are dropped first). `None`
/// when there is none (an empty prefix, or only `char::MAX`): then every string qualifies.
pub(crate) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

const HELD: &str = "\"id\" = $1 AND \"status\" = 'RUNNING' AND \"attempt\" = $2";

fn build(d: Dialect) -> Statements {
    let pg = d == Dialect::Postgres;
    let runs = RUNS.select(d);
    let create_run_insert = "INSERT INTO \"workflow_runs\" (\"id\", \"createdAt\", \"updatedAt\", \"version\", \"workflowId\", \"workflowName\", \
         \"workflowType\", \"status\", \"input\", \"config\", \"totalCost\", \"totalTokens\", \"priority\", \"metadata\") \
         VALUES ($1, $2, $2, 1, $3, $4, $5, 'PENDING', $6, $7, 0, 0, $8, $9)";
    let create_run = format!("{create_run_insert} {}", RUNS.returning(d));
    let lock_run = if pg {
        format!(
            "SELECT {runs}, pg_advisory_xact_lock(hashtext(\"id\")) AS \"_locked\" FROM \"workflow_runs\" WHERE \"id\" = $1 FOR UPDATE"
        )
    } else {
        RUNS.select_from(d, "WHERE \"id\" = $1")
    };
    Statements {
        create_run: leak(create_run),
        get_run: leak(RUNS.select_from(d, "WHERE \"id\" = $1")),
        lock_run: leak(lock_run),
        claim_pending_runs: leak(format!(
            "UPDATE \"workflow_runs\" SET \"status\" = 'RUNNING', \"startedAt\" = $1, \"updatedAt\" = $1, \"version\" = \"version\" + 1 \
             WHERE \"id\" IN (SELECT \"id\" FROM \"workflow_runs\" WHERE \"status\" = 'PENDING' \
             ORDER BY \"priority\" DESC, \"createdAt\" ASC LIMIT $2{}) {}",
            d.skip_locked(),
            RUNS.returning(d)
        )),
        quarantine_run: "UPDATE \"workflow_runs\" SET \"status\" = 'FAILED', \"completedAt\" = $2, \"updatedAt\" = $2, \"output\" = $3, \
                         \"version\" = \"version\" + 1 WHERE \"id\" = $1",
        stuck_runs: "SELECT \"id\" FROM \"workflow_runs\" r WHERE r.\"status\" = 'RUNNING' AND r.\"updatedAt\" <= $1 \
                     AND NOT EXISTS (SELECT 1 FROM \"workflow_stages\" s WHERE s.\"workflowRunId\" = r.\"id\" \
                     AND (s.\"updatedAt\" > $1 OR s.\"status\" = 'SUSPENDED')) \
                     AND NOT EXISTS (SELECT 1 FROM \"job_queue\" j WHERE j.\"status\" IN ('PENDING', 'RUNNING') \
                     AND j.\"workflowRunId\" = r.\"id\") ORDER BY r.\"updatedAt\" ASC LIMIT $2",
        insert_stage: leak(format!(
            "INSERT INTO \"workflow_stages\" (\"id\", \"createdAt\", \"updatedAt\", \"version\", \"workflowRunId\", \"stageId\", \
             \"stageName\", \"stageNumber\", \"executionGroup\", \"attempt\", \"status\", \"startedAt\", \"config\") \
             VALUES ($1, $2, $2, 1, $3, $4, $5, $6, $7, $8, {}, $10, $11)",
            d.status(9)
        )),
        get_stage: leak(STAGES.select_from(d, "WHERE \"workflowRunId\" = $1 AND \"stageId\" = $2")),
        stages_by_run: leak(STAGES.select_from(
            d,
            "WHERE \"workflowRunId\" = $1 ORDER BY \"executionGroup\" ASC, \"stageNumber\" ASC",
        )),
        suspended_due: leak(STAGES.select_from(
            d,
            "WHERE \"status\" = 'SUSPENDED' AND \"nextPollAt\" <= $1 ORDER BY \"nextPollAt\" ASC LIMIT $2",
        )),
        next_suspended_poll: "SELECT MIN(\"nextPollAt\") AS \"nextPollAt\" FROM \"workflow_stages\" WHERE \"status\" = 'SUSPENDED'",
        delete_stages_from_group: leak(format!(
            "DELETE FROM \"workflow_stages\" WHERE \"workflowRunId\" = $1 AND \"executionGroup\" >= $2 {}",
            STAGES.returning(d)
        )),
        create_log: "INSERT INTO \"workflow_logs\" (\"id\", \"createdAt\", \"workflowRunId\", \"workflowStageId\", \"level\", \"message\", \
                     \"metadata\") VALUES ($1, $2, $3, $4, $5, $6, $7)",
        logs_by_run: leak(LOGS.select_from(
            d,
            "WHERE \"workflowRunId\" = $1 ORDER BY \"createdAt\" ASC, \"id\" ASC",
        )),
        insert_annotation: "INSERT INTO \"workflow_annotations\" (\"id\", \"createdAt\", \"workflowRunId\", \"workflowStageRecordId\", \
                            \"attempt\", \"scope\", \"scopeId\", \"actorKind\", \"actorId\", \"actorVersion\", \"key\", \"value\", \"payload\", \
                            \"idempotencyKey\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                            ON CONFLICT (\"workflowRunId\", \"key\", \"idempotencyKey\") DO NOTHING",
        last_sequence: "SELECT COALESCE(MAX(\"sequence\"), 0) FROM \"outbox_events\" WHERE \"workflowRunId\" = $1",
        insert_event: "INSERT INTO \"outbox_events\" (\"id\", \"createdAt\", \"workflowRunId\", \"sequence\", \"eventType\", \"payload\", \
                       \"causationId\", \"occurredAt\", \"retryCount\") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
        claim_outbox: leak(if pg {
            // Runs another relay is delivering are skipped (their rows are locked, their relay lock held), so
            // each run's events go out once and in order across relays.
            OUTBOX.select_from(
                d,
                &format!(
                    "WHERE \"publishedAt\" IS NULL AND \"dlqAt\" IS NULL \
                     AND pg_try_advisory_xact_lock({RELAY_LOCK_CLASS}, hashtext(\"workflowRunId\")) \
                     ORDER BY \"workflowRunId\" ASC, \"sequence\" ASC LIMIT $1 FOR UPDATE SKIP LOCKED"
                ),
            )
        } else {
            OUTBOX.select_from(
                d,
                "WHERE \"publishedAt\" IS NULL AND \"dlqAt\" IS NULL ORDER BY \"workflowRunId\" ASC, \"sequence\" ASC LIMIT $1",
            )
        }),
        outbox_by_run: leak(OUTBOX.select_from(d, "WHERE \"workflowRunId\" = $1 ORDER BY \"sequence\" ASC")),
        outbox_after: leak(OUTBOX.select_from(
            d,
            "WHERE \"workflowRunId\" = $1 AND \"sequence\" > $2 ORDER BY \"sequence\" ASC LIMIT $3",
        )),
        outbox_feed: leak(OUTBOX.select_from(
            d,
            "WHERE \"id\" > $1 AND \"id\" < $2 ORDER BY \"id\" ASC LIMIT $3",
        )),
        increment_retry: "UPDATE \"outbox_events\" SET \"retryCount\" = \"retryCount\" + 1 WHERE \"id\" = $1 RETURNING \"retryCount\"",
        move_to_dlq: "UPDATE \"outbox_events\" SET \"dlqAt\" = $2 WHERE \"id\" = $1",
        replay_dlq: "UPDATE \"outbox_events\" SET \"dlqAt\" = NULL, \"retryCount\" = 0 WHERE \"id\" IN (SELECT \"id\" FROM \"outbox_events\" \
                     WHERE \"dlqAt\" IS NOT NULL ORDER BY \"workflowRunId\" ASC, \"sequence\" ASC LIMIT $1)",
        insert_idempotency: "INSERT INTO \"idempotency_keys\" (\"id\", \"createdAt\", \"key\", \"commandType\", \"result\") \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (\"key\", \"commandType\") DO NOTHING",
        get_idempotency: "SELECT \"id\", \"createdAt\", \"result\" FROM \"idempotency_keys\" WHERE \"key\" = $1 AND \"commandType\" = $2",
        reclaim_idempotency: "UPDATE \"idempotency_keys\" SET \"createdAt\" = $3 WHERE \"id\" = $1 AND \"createdAt\" = $2",
        complete_idempotency: "UPDATE \"idempotency_keys\" SET \"result\" = $3 WHERE \"key\" = $1 AND \"commandType\" = $2",
        release_idempotency: "DELETE FROM \"idempotency_keys\" WHERE \"key\" = $1 AND \"commandType\" = $2",
        insert_job: "INSERT INTO \"job_queue\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"stageId\", \"status\", \"priority\", \
                     \"attempt\", \"payload\") VALUES ($1, $2, $2, $3, $4, 'PENDING', $5, 0, $6)",
        complete_job: leak(format!(
            "UPDATE \"job_queue\" SET \"status\" = 'COMPLETED', \"completedAt\" = $3, \"updatedAt\" = $3 WHERE {HELD} RETURNING {}",
            if pg { "\"status\"::text" } else { "\"status\"" }
        )),
        suspend_job: leak(format!(
            "UPDATE \"job_queue\" SET \"status\" = 'SUSPENDED', \"nextPollAt\" = $4, \"workerId\" = NULL, \"lockedAt\" = NULL, \
             \"updatedAt\" = $3 WHERE {HELD} RETURNING {}",
            if pg { "\"status\"::text" } else { "\"status\"" }
        )),
        fail_job: leak(format!(
            "UPDATE \"job_queue\" SET \"status\" = CASE WHEN $5 IS NOT NULL AND \"attempt\" < \"maxAttempts\" THEN {pending} ELSE {failed} END, \
             \"lastError\" = $4, \"nextPollAt\" = CASE WHEN $5 IS NOT NULL AND \"attempt\" < \"maxAttempts\" THEN $5 ELSE \"nextPollAt\" END, \
             \"workerId\" = CASE WHEN $5 IS NOT NULL AND \"attempt\" < \"maxAttempts\" THEN NULL ELSE \"workerId\" END, \
             \"lockedAt\" = CASE WHEN $5 IS NOT NULL AND \"attempt\" < \"maxAttempts\" THEN NULL ELSE \"lockedAt\" END, \
             \"completedAt\" = CASE WHEN $5 IS NOT NULL AND \"attempt\" < \"maxAttempts\" THEN \"completedAt\" ELSE $3 END, \
             \"updatedAt\" = $3 WHERE {HELD} RETURNING {}",
            if pg { "\"status\"::text" } else { "\"status\"" },
            pending = if pg { "'PENDING'::\"Status\"" } else { "'PENDING'" },
            failed = if pg { "'FAILED'::\"Status\"" } else { "'FAILED'" },
        )),
        touch_job: leak(format!(
            "UPDATE \"job_queue\" SET \"lockedAt\" = $3 WHERE {HELD} RETURNING \"workflowRunId\", \"stageId\""
        )),
        touch_stage: "UPDATE \"workflow_stages\" SET \"updatedAt\" = $3 WHERE \"workflowRunId\" = $1 AND \"stageId\" = $2",
        release_stale_jobs: leak(format!(
            "UPDATE \"job_queue\" SET \"status\" = CASE WHEN \"attempt\" < \"maxAttempts\" THEN {pending} ELSE {failed} END, \
             \"workerId\" = NULL, \"lockedAt\" = NULL, \"updatedAt\" = $1, \
             \"completedAt\" = CASE WHEN \"attempt\" < \"maxAttempts\" THEN \"completedAt\" ELSE $1 END, \
             \"lastError\" = CASE WHEN \"attempt\" < \"maxAttempts\" THEN \"lastError\" ELSE $3 END \
             WHERE \"status\" = 'RUNNING' AND \"lockedAt\" < $2 {}",
            JOBS.returning(d),
            pending = if pg { "'PENDING'::\"Status\"" } else { "'PENDING'" },
            failed = if pg { "'FAILED'::\"Status\"" } else { "'FAILED'" },
        )),
        cancel_jobs_of_run: "UPDATE \"job_queue\" SET \"status\" = 'CANCELLED', \"updatedAt\" = $2 \
                             WHERE \"status\" IN ('PENDING', 'SUSPENDED') AND \"workflowRunId\" = $1",
        jobs_by_run: leak(JOBS.select_from(
            d,
            "WHERE \"workflowRunId\" = $1 ORDER BY \"createdAt\" ASC, \"id\" ASC",
        )),
        active_jobs_of_run: leak(JOBS.select_from(
            d,
            "WHERE \"status\" IN ('PENDING', 'RUNNING', 'SUSPENDED') AND \"workflowRunId\" = $1 ORDER BY \"createdAt\" ASC, \"id\" ASC",
        )),
        lease_holds: leak(format!(
            "SELECT \"id\" FROM \"job_queue\" WHERE {HELD}{}",
            d.for_update()
        )),
        settle_completed: "UPDATE \"job_queue\" SET \"status\" = 'COMPLETED', \"completedAt\" = $3, \"updatedAt\" = $3 \
                           WHERE \"status\" = 'SUSPENDED' AND \"workflowRunId\" = $1 AND \"stageId\" = $2",
        settle_cancelled: "UPDATE \"job_queue\" SET \"status\" = 'CANCELLED', \"updatedAt\" = $3 \
                           WHERE \"status\" = 'SUSPENDED' AND \"workflowRunId\" = $1 AND \"stageId\" = $2",
        settle_failed: "UPDATE \"job_queue\" SET \"status\" = 'FAILED', \"completedAt\" = $3, \"lastError\" = $4, \"updatedAt\" = $3 \
                        WHERE \"status\" = 'SUSPENDED' AND \"workflowRunId\" = $1 AND \"stageId\" = $2",
        quarantine_job: "UPDATE \"job_queue\" SET \"status\" = 'FAILED', \"lastError\" = $2, \"completedAt\" = $3, \"updatedAt\" = $3 WHERE \"id\" = $1",
        put_blob: "INSERT INTO \"workflow_artifacts\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"key\", \"type\", \"data\", \"size\") \
                   VALUES ($1, $2, $2, $3, $4, 'json', $5, $6) ON CONFLICT (\"workflowRunId\", \"key\") \
                   DO UPDATE SET \"data\" = excluded.\"data\", \"size\" = excluded.\"size\", \"updatedAt\" = excluded.\"updatedAt\"",
        get_blob: "SELECT \"key\", \"data\" FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 AND \"key\" = $2",
        delete_blob: "DELETE FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 AND \"key\" = $2",
        list_blobs: "SELECT \"key\" FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 AND substr(\"key\", 1, length($2)) = $2 \
                     ORDER BY \"key\" ASC",
        delete_blob_prefix: "DELETE FROM \"workflow_artifacts\" WHERE \"workflowRunId\" = $1 AND substr(\"key\", 1, length($2)) = $2",
        insert_ai_call: "INSERT INTO \"ai_calls\" (\"id\", \"createdAt\", \"topic\", \"callType\", \"modelKey\", \"modelId\", \"prompt\", \
                         \"response\", \"inputTokens\", \"outputTokens\", \"cost\", \"metadata\") \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        ai_calls_by_topic: TopicMatch::PREDICATES.map(|predicate| {
            leak(AI_CALLS.select_from(
                d,
                &format!("WHERE {predicate} ORDER BY \"createdAt\" ASC, \"id\" ASC"),
            ))
        }),
        ai_usage_by_topic: TopicMatch::PREDICATES.map(|predicate| {
            leak(format!(
                "SELECT COUNT(*) AS \"calls\", COALESCE(SUM(\"inputTokens\"), 0) AS \"inputTokens\", \
                 COALESCE(SUM(\"outputTokens\"), 0) AS \"outputTokens\", COALESCE(SUM(\"cost\"), 0.0) AS \"cost\" \
                 FROM \"ai_calls\" WHERE {predicate}"
            ))
        }),
    }
}

/// The statements of `dialect`.
pub(crate) fn statements(dialect: Dialect) -> &'static Statements {
    static POSTGRES: OnceLock<Statements> = OnceLock::new();
    static SQLITE: OnceLock<Statements> = OnceLock::new();
    match dialect {
        Dialect::Postgres => POSTGRES.get_or_init(|| build(Dialect::Postgres)),
        Dialect::Sqlite => SQLITE.get_or_init(|| build(Dialect::Sqlite)),
    }
}

/// The jobs a claim takes (`$2` now, `$3` limit): claimable jobs whose workflow id (`workflow_id`, an
/// expression over the payload) is `in_workflows` (membership in the worker's), or that have none, so that a job
/// whose payload lost its workflow id is leased and quarantined instead of waiting forever.
pub(crate) fn claim_candidates(dialect: Dialect, workflow_id: &str, in_workflows: &str) -> String {
    format!(
        "SELECT \"id\" FROM \"job_queue\" WHERE \"status\" = 'PENDING' AND (\"nextPollAt\" IS NULL OR \"nextPollAt\" <= $2) \
         AND ({workflow_id} {in_workflows} OR {workflow_id} IS NULL) ORDER BY \"priority\" DESC, \"createdAt\" ASC LIMIT $3{}",
        dialect.skip_locked()
    )
}

/// The SQLite job claim (`$1` worker, `$2` now, `$3` limit, `$4` JSON array of workflow ids). A payload
/// that is not JSON counts as one without a workflow id (`json_extract` would fail the whole claim).
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_claim_jobs() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "UPDATE \"job_queue\" SET \"status\" = 'RUNNING', \"workerId\" = $1, \"lockedAt\" = $2, \"startedAt\" = $2, \"updatedAt\" = $2, \
             \"attempt\" = \"attempt\" + 1 WHERE \"id\" IN ({}) {}",
            claim_candidates(
                Dialect::Sqlite,
                "(CASE WHEN json_valid(\"payload\") THEN json_extract(\"payload\", '$._workflowId') END)",
                "IN (SELECT value FROM json_each($4))"
            ),
            JOBS.returning(Dialect::Sqlite)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_build() {
        let pg = statements(Dialect::Postgres);
        let sqlite = statements(Dialect::Sqlite);
        assert!(
            !pg.create_run.contains("pg_notify"),
            "wake-ups are sent after commit, coalesced"
        );
        assert!(pg.lock_run.ends_with("FOR UPDATE"));
        assert!(pg.get_run.contains("\"status\"::text AS \"status\""));
        assert!(sqlite.claim_pending_runs.contains("LIMIT $2)"));
        assert!(
            pg.claim_outbox
                .contains("pg_try_advisory_xact_lock(7270, hashtext(\"workflowRunId\"))")
        );
        assert!(sqlite_claim_jobs().contains("json_each($4)"));
    }

    #[test]
    fn a_prefix_successor_bounds_exactly_the_strings_with_that_prefix() {
        assert_eq!(
            prefix_successor("workflow.r1.").as_deref(),
            Some("workflow.r1/")
        );
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        let upper = prefix_successor("workflow.r9").unwrap();
        for inside in ["workflow.r9", "workflow.r9.stage", "workflow.r9\u{10FFFF}"] {
            assert!(
                inside >= "workflow.r9" && inside < upper.as_str(),
                "{inside}"
            );
        }
        assert!("workflow.r:" >= upper.as_str());
    }
}
