//! Scenario 5: PostgreSQL throughput over empty tables, then over the same tables holding a million
//! completed historical runs (bulk-loaded with `INSERT … SELECT generate_series`, not through the engine).

use super::limit;
use super::throughput::{measure, ratio, skipped_section};
use crate::backend::Store;
use crate::drive::Throughput;
use crate::measure::{Figure, format_number};
use crate::plan::Context;
use crate::results::{Results, Section, Table};
use crate::workload::Shape;
use sqlx::{Connection, PgConnection};
use std::time::Instant;

/// Stage rows, job rows and outbox events per historical run.
const CHILDREN_PER_RUN: i32 = 5;
/// Worker concurrency of both measurements.
const CONCURRENCY: usize = 16;

/// The historical rows: completed runs with completed stages and jobs and published events, ids prefixed
/// `hist` so the live runs can be told apart. `$1` is the number of runs, `$2` (all but the first statement)
/// the children per run.
const LOAD: [&str; 4] = [
    "INSERT INTO \"workflow_runs\" (\"id\", \"createdAt\", \"updatedAt\", \"version\", \"workflowId\", \"workflowName\", \
     \"workflowType\", \"status\", \"startedAt\", \"completedAt\", \"duration\", \"input\", \"output\", \"config\", \
     \"totalCost\", \"totalTokens\", \"priority\") \
     SELECT 'hist' || lpad(g::text, 21, '0'), t, t, 3, 'historical', 'Historical', 'historical', 'COMPLETED', t, t, 1000, \
     '{\"n\":1}', '{\"n\":1}', '{}', 0, 0, 5 \
     FROM generate_series(1, $1::int) g, LATERAL (SELECT (now() - make_interval(secs => g))::timestamp(3) AS t) ts",
    "INSERT INTO \"workflow_stages\" (\"id\", \"createdAt\", \"updatedAt\", \"version\", \"workflowRunId\", \"stageId\", \
     \"stageName\", \"stageNumber\", \"executionGroup\", \"attempt\", \"status\", \"startedAt\", \"completedAt\", \
     \"duration\", \"outputData\", \"config\", \"metrics\") \
     SELECT 'hsta' || lpad(g::text, 19, '0') || s, t, t, 3, 'hist' || lpad(g::text, 21, '0'), 's' || s, 'S' || s, s, s, 0, \
     'COMPLETED', t, t, 10, '{\"_artifactKey\":\"historical\"}', '{}', '{}' \
     FROM generate_series(1, $1::int) g, generate_series(1, $2::int) s, \
     LATERAL (SELECT (now() - make_interval(secs => g))::timestamp(3) AS t) ts",
    "INSERT INTO \"job_queue\" (\"id\", \"createdAt\", \"updatedAt\", \"workflowRunId\", \"stageId\", \"status\", \
     \"priority\", \"attempt\", \"maxAttempts\", \"startedAt\", \"completedAt\", \"payload\") \
     SELECT 'hjob' || lpad(g::text, 19, '0') || s, t, t, 'hist' || lpad(g::text, 21, '0'), 's' || s, 'COMPLETED', 5, 1, 3, \
     t, t, '{\"config\":{},\"_workflowId\":\"historical\"}' \
     FROM generate_series(1, $1::int) g, generate_series(1, $2::int) s, \
     LATERAL (SELECT (now() - make_interval(secs => g))::timestamp(3) AS t) ts",
    "INSERT INTO \"outbox_events\" (\"id\", \"createdAt\", \"workflowRunId\", \"sequence\", \"eventType\", \"payload\", \
     \"causationId\", \"occurredAt\", \"publishedAt\", \"retryCount\") \
     SELECT 'hevt' || lpad(g::text, 19, '0') || s, t, 'hist' || lpad(g::text, 21, '0'), s, 'stage:completed', '{}', \
     'historical', t, t, 0 \
     FROM generate_series(1, $1::int) g, generate_series(1, $2::int) s, \
     LATERAL (SELECT (now() - make_interval(secs => g))::timestamp(3) AS t) ts",
];

/// Removes the rows of the benchmark's own runs (not the historical ones).
const CLEAN: [&str; 4] = [
    "DELETE FROM \"job_queue\" WHERE \"id\" NOT LIKE 'hjob%'",
    "DELETE FROM \"outbox_events\" WHERE \"id\" NOT LIKE 'hevt%'",
    "DELETE FROM \"workflow_runs\" WHERE \"workflowId\" <> $1",
    "DELETE FROM \"idempotency_keys\" WHERE \"key\" <> $1",
];

async fn clean(url: &str) -> Result<(), String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    for statement in CLEAN {
        sqlx::query(statement)
            .bind("historical")
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot remove the benchmark's rows: {e}"))?;
    }
    Ok(())
}

async fn load(url: &str, runs: usize) -> Result<(), String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    for (index, statement) in LOAD.iter().enumerate() {
        let query = sqlx::query(*statement).bind(runs as i32);
        let query = if index == 0 {
            query
        } else {
            query.bind(CHILDREN_PER_RUN)
        };
        query
            .execute(&mut conn)
            .await
            .map_err(|e| format!("cannot load historical rows: {e}"))?;
    }
    sqlx::raw_sql("VACUUM ANALYZE")
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Measures empty, loads the history, measures again.
pub async fn run(ctx: &Context, out: &mut Results) {
    let title = "5. Scale: 10⁶ historical runs";
    let Some(server) = &ctx.postgres else {
        out.sections.insert(
            "scale".into(),
            skipped_section(title, &ctx.postgres_missing),
        );
        return;
    };
    let url = match server.create_database("scale").await {
        Ok(url) => url,
        Err(error) => {
            out.sections
                .insert("scale".into(), skipped_section(title, &error));
            return;
        }
    };
    let spec = Throughput {
        shape: Shape::Linear,
        runs: ctx.plan.database_runs,
        concurrency: CONCURRENCY,
        budget: ctx.plan.drain_budget,
    };
    let fresh = || async {
        let store = Store::postgres(&url).await?;
        clean(&url).await?;
        Ok(store)
    };
    let (empty, _) = measure(ctx.plan.reps, spec, fresh).await;
    let begun = Instant::now();
    let loaded = match load(&url, ctx.plan.historical_runs).await {
        Ok(()) => measure(ctx.plan.reps, spec, fresh).await.0,
        Err(error) => Figure::skipped(error),
    };
    let load_seconds = begun.elapsed().as_secs_f64();
    let retained = ratio(loaded.median, empty.median);
    out.put("scale.empty.exec", empty);
    out.put("scale.loaded.exec", loaded);
    let pgbench = out.median(limit::PGBENCH_TPS);
    let mut table = Table::new(
        &["tables"],
        &[("stage exec/s", 0)],
        &["÷ pgbench commits/s"],
    );
    table.row(
        vec!["empty".into()],
        vec!["scale.empty.exec".into()],
        vec![ratio(out.median("scale.empty.exec"), pgbench)],
    );
    table.row(
        vec![format!(
            "{} completed runs ({} stages, jobs and events each)",
            format_number(ctx.plan.historical_runs as f64, 0),
            CHILDREN_PER_RUN
        )],
        vec!["scale.loaded.exec".into()],
        vec![ratio(out.median("scale.loaded.exec"), pgbench)],
    );
    out.sections.insert(
        "scale".into(),
        Section {
            title: title.into(),
            intro: format!(
                "The 5-stage workload at concurrency {CONCURRENCY} ({} runs per repetition), first over empty tables, \
                 then after bulk-loading the history (`INSERT … SELECT generate_series`, then `VACUUM ANALYZE`).",
                ctx.plan.database_runs
            ),
            tables: vec![table],
            notes: vec![format!(
                "Loaded over empty: {retained} (loading took {load_seconds:.0} s)."
            )],
        },
    );
}
