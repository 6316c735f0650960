//! Scenario 7: what one stage execution costs PostgreSQL, in commits (`pg_stat_database.xact_commit`
//! deltas, read after the engine's connections closed so their statistics are flushed) and statements
//! (counted from sqlx's statement events), listed per statement.

use super::throughput::skipped_section;
use crate::backend::Store;
use crate::drive::{claim_all, create_runs, drain};
use crate::measure::{Figure, Rep, format_number};
use crate::plan::Context;
use crate::results::{Results, Section, Table};
use crate::statements;
use crate::workload::Shape;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use workflow_core::hosts::HostConfig;
use workflow_prisma_compat::PgStore;

/// The engine's `application_name`, to see when its connections are gone.
const ENGINE_APP: &str = "workflow-bench-engine";
/// Worker concurrency.
const CONCURRENCY: usize = 16;
/// The figure ids.
pub const COMMITS: &str = "cost.commits_per_stage";
/// Statements per stage execution.
pub const STATEMENTS: &str = "cost.statements_per_stage";

struct Measured {
    commits: f64,
    statements: HashMap<String, u64>,
    executions: u64,
}

async fn xact_commit(url: &str) -> Result<i64, String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let commits: i64 = sqlx::query_scalar(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    conn.close().await.map_err(|e| e.to_string())?;
    Ok(commits)
}

/// Waits until no connection named [`ENGINE_APP`] is left; returns how many polls it took.
async fn engine_gone(url: &str) -> Result<i64, String> {
    let mut conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    let mut polls = 0;
    let begun = Instant::now();
    loop {
        polls += 1;
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(ENGINE_APP)
                .fetch_one(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
        if left == 0 || begun.elapsed() > Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    conn.close().await.map_err(|e| e.to_string())?;
    // The closed connections' backends flush their statistics as they exit.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(polls)
}

async fn rep(ctx: &Context, url: &str) -> Result<Measured, String> {
    let runs = ctx.plan.cost_runs;
    let setup = Store::empty_postgres(url).await?;
    let kernel = setup.kernel(None);
    create_runs(
        &kernel,
        Shape::Linear.workflow_id(),
        runs,
        ctx.plan.drain_budget,
    )
    .await?;
    claim_all(&kernel, ctx.plan.drain_budget).await?;
    setup.close().await;
    drop(kernel);
    // The measured engine connects only once it works (a lazy pool; the database is already migrated).
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| e.to_string())?
        .application_name(ENGINE_APP);
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_lazy_with(options);
    let store = Store::Postgres(Arc::new(PgStore::from_pool(pool)));
    engine_gone(url).await?;
    let before = xact_commit(url).await?;
    let kernel = store.kernel(None);
    let expected = (runs * Shape::Linear.stages()) as u64;
    let config = HostConfig {
        concurrency: CONCURRENCY,
        ..HostConfig::new("bench-cost")
    };
    statements::start();
    let drained = drain(&kernel, config, expected, ctx.plan.drain_budget).await;
    let counted = statements::stop();
    store.close().await;
    drop(kernel);
    drop(store);
    let polls = engine_gone(url).await?;
    let after = xact_commit(url).await?;
    if !drained.finished {
        return Err(format!(
            "only {} of {expected} stage executions finished within {:?}",
            drained.jobs, ctx.plan.drain_budget
        ));
    }
    // Subtract the harness's own transactions: the first reading, and each poll of pg_stat_activity.
    let harness = 1 + polls;
    Ok(Measured {
        commits: (after - before - harness) as f64 / expected as f64,
        statements: counted,
        executions: expected,
    })
}

/// Measures the cost over the plan's repetitions and lists the statements of the last one.
pub async fn run(ctx: &Context, out: &mut Results) {
    let title = "7. Cost per stage execution (PostgreSQL)";
    let Some(server) = &ctx.postgres else {
        out.sections
            .insert("cost".into(), skipped_section(title, &ctx.postgres_missing));
        return;
    };
    let url = match server.create_database("cost").await {
        Ok(url) => url,
        Err(error) => {
            out.sections
                .insert("cost".into(), skipped_section(title, &error));
            return;
        }
    };
    let (mut commits, mut totals, mut last) = (Vec::new(), Vec::new(), None);
    for _ in 0..ctx.plan.reps {
        match rep(ctx, &url).await {
            Ok(measured) => {
                commits.push(Rep::Done(measured.commits));
                totals.push(Rep::Done(
                    total_statements(&measured.statements) as f64 / measured.executions as f64,
                ));
                last = Some(measured);
            }
            Err(error) => {
                commits.push(Rep::Failed(error.clone()));
                totals.push(Rep::Failed(error));
            }
        }
    }
    out.put(COMMITS, Figure::from_reps(&commits));
    out.put(STATEMENTS, Figure::from_reps(&totals));
    let mut summary = Table::new(&["per stage execution"], &[("count", 2)], &[]);
    summary.row(
        vec!["commits (xact_commit delta)".into()],
        vec![COMMITS.into()],
        vec![],
    );
    summary.row(
        vec!["SQL statements (incl. BEGIN/COMMIT)".into()],
        vec![STATEMENTS.into()],
        vec![],
    );
    let mut tables = vec![summary];
    if let Some(measured) = last {
        tables.push(statement_table(&measured));
    }
    out.sections.insert(
        "cost".into(),
        Section {
            title: title.into(),
            intro: format!(
                "{} runs of the 5-stage workload ({} stage executions) created and claimed up front by a separate \
                 connection pool, then drained by one `WorkerHost` at concurrency {CONCURRENCY}. Commits: the \
                 database's `xact_commit` delta over the drain, read after the engine's connections closed (so their \
                 statistics are flushed), minus the harness's own readings. Statements: every statement sqlx sent \
                 during the drain.",
                runs_label(ctx),
                format_number((ctx.plan.cost_runs * 5) as f64, 0)
            ),
            tables,
            notes: Vec::new(),
        },
    );
}

fn runs_label(ctx: &Context) -> String {
    format_number(ctx.plan.cost_runs as f64, 0)
}

/// Every statement sent, with `BEGIN` inferred from the transaction ends.
fn total_statements(counts: &HashMap<String, u64>) -> u64 {
    let ends: u64 = counts
        .iter()
        .filter(|(sql, _)| *sql == "COMMIT" || *sql == "ROLLBACK")
        .map(|(_, n)| n)
        .sum();
    counts.values().sum::<u64>() + ends
}

fn statement_table(measured: &Measured) -> Table {
    let mut rows: Vec<(String, u64)> = measured
        .statements
        .iter()
        .map(|(sql, n)| (sql.clone(), *n))
        .collect();
    let begins = total_statements(&measured.statements) - measured.statements.values().sum::<u64>();
    rows.push(("BEGIN".into(), begins));
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut table = Table::new(&["statement", "per stage", "why"], &[], &[]);
    for (sql, count) in rows {
        let shown = if sql.len() > 160 {
            format!(
                "{}…",
                &sql[..sql.char_indices().nth(157).map_or(sql.len(), |(i, _)| i)]
            )
        } else {
            sql.clone()
        };
        table.row(
            vec![
                format!("`{}`", shown.replace('|', "\\|")),
                format!("{:.2}", count as f64 / measured.executions as f64),
                statements::explain(&sql).to_owned(),
            ],
            vec![],
            vec![],
        );
    }
    table
}
