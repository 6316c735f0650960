//! Scenarios 1–3 (one process): stage executions and runs per second, in memory at growing run counts, and
//! on SQLite and PostgreSQL at growing worker concurrency.

use super::{limit, processes};
use crate::backend::Store;
use crate::drive::{Throughput, throughput_rep};
use crate::measure::{Figure, Rep, format_number};
use crate::plan::Context;
use crate::results::{Results, Section, Table};
use crate::workload::Shape;

/// The TypeScript engine's figures on this kind of machine (issue "Benchmarks", measured 2026-12-01 side by
/// side with the same workload shape: 5 no-op stages, database blob store, claim done up front).
fn typescript_postgres(concurrency: usize) -> &'static str {
    match concurrency {
        1 => "69–82 (one job loop)",
        8 => "150–161 (eight)",
        16 => "144–151 (sixteen)",
        _ => "",
    }
}

/// Repeats a throughput measurement; stops repeating after a repetition that stalled in setup.
pub(crate) async fn measure<F, Fut>(reps: usize, spec: Throughput, mut open: F) -> (Figure, Figure)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Store, String>>,
{
    let (mut execs, mut runs) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (exec, run) = throughput_rep(open().await, spec).await;
        let stalled_in_setup = matches!(&exec, Rep::TimedOut { partial: None, .. });
        execs.push(exec);
        runs.push(run);
        if stalled_in_setup {
            break;
        }
    }
    (Figure::from_reps(&execs), Figure::from_reps(&runs))
}

/// Scenario 1: the in-memory kernel with one worker (concurrency 1) at each run count.
pub async fn memory(ctx: &Context, out: &mut Results) {
    let mut table = Table::new(
        &["runs"],
        &[("stage exec/s", 0), ("runs/s", 0)],
        &["TypeScript engine, in memory"],
    );
    for &runs in &ctx.plan.memory_runs {
        let spec = Throughput {
            shape: Shape::Linear,
            runs,
            concurrency: 1,
            budget: ctx.plan.drain_budget,
        };
        let (exec, per_run) = measure(ctx.plan.reps, spec, || async { Ok(Store::memory()) }).await;
        let id = format!("memory.n{runs}");
        out.put(format!("{id}.exec"), exec);
        out.put(format!("{id}.runs"), per_run);
        let typescript = match runs {
            100 | 200 => "5,500–7,300/s at 200 runs",
            1_000 => "2,800–3,100/s at 1,000 runs",
            _ => "",
        };
        table.row(
            vec![format_number(runs as f64, 0)],
            vec![format!("{id}.exec"), format!("{id}.runs")],
            vec![typescript.into()],
        );
    }
    out.sections.insert(
        "memory".into(),
        Section {
            title: "1. In-memory kernel".into(),
            intro: "The 5-stage no-op workflow; runs created through `run.create` and claimed up front, then \
                    drained by one `WorkerHost` (concurrency 1) over `InMemoryStore`. A flat curve means the \
                    store's cost does not grow with its size."
                .into(),
            tables: vec![table],
            notes: Vec::new(),
        },
    );
}

/// Scenario 2: SQLite files (WAL), a fresh file per repetition.
pub async fn sqlite(ctx: &Context, out: &mut Results) {
    let raw = out.median(limit::SQLITE_TPS);
    let mut table = Table::new(
        &["concurrency", "workload"],
        &[("stage exec/s", 0), ("runs/s", 0)],
        &["stage exec/s ÷ raw SQLite commits/s"],
    );
    for &concurrency in &ctx.plan.sqlite_concurrency {
        for shape in Shape::ALL {
            if shape == Shape::Diamond && !ctx.plan.both_shapes(concurrency) {
                continue;
            }
            let spec = Throughput {
                shape,
                runs: ctx.plan.database_runs,
                concurrency,
                budget: ctx.plan.drain_budget,
            };
            let (exec, per_run) = measure(ctx.plan.reps, spec, || {
                let path = ctx.sqlite_path("throughput");
                async move { Store::sqlite(&path).await }
            })
            .await;
            let id = format!("sqlite.c{concurrency}.{}", shape.key());
            let ratio = ratio(exec.median, raw);
            out.put(format!("{id}.exec"), exec);
            out.put(format!("{id}.runs"), per_run);
            table.row(
                vec![concurrency.to_string(), shape.label().into()],
                vec![format!("{id}.exec"), format!("{id}.runs")],
                vec![ratio],
            );
        }
    }
    out.sections.insert(
        "sqlite".into(),
        Section {
            title: "2. SQLite".into(),
            intro: format!(
                "A fresh SQLite file per repetition (opened by `SqliteStore::open`: WAL, synchronous=NORMAL); {} runs \
                 created and claimed up front, then drained by one `WorkerHost` at each concurrency.",
                ctx.plan.database_runs
            ),
            tables: vec![table],
            notes: Vec::new(),
        },
    );
}

/// Scenario 3: PostgreSQL, one process at each concurrency, then several worker processes.
pub async fn postgres(ctx: &Context, out: &mut Results) {
    let Some(server) = &ctx.postgres else {
        out.sections.insert(
            "postgres".into(),
            skipped_section("3. PostgreSQL", &ctx.postgres_missing),
        );
        return;
    };
    let url = match server.create_database("throughput").await {
        Ok(url) => url,
        Err(error) => {
            out.sections
                .insert("postgres".into(), skipped_section("3. PostgreSQL", &error));
            return;
        }
    };
    let pgbench = out.median(limit::PGBENCH_TPS);
    let mut table = Table::new(
        &["workers", "workload"],
        &[("stage exec/s", 0), ("runs/s", 0)],
        &["÷ pgbench commits/s", "TypeScript engine, stage exec/s"],
    );
    for &concurrency in &ctx.plan.postgres_concurrency {
        for shape in Shape::ALL {
            if shape == Shape::Diamond && !ctx.plan.both_shapes(concurrency) {
                continue;
            }
            let spec = Throughput {
                shape,
                runs: ctx.plan.database_runs,
                concurrency,
                budget: ctx.plan.drain_budget,
            };
            let (exec, per_run) =
                measure(ctx.plan.reps, spec, || Store::empty_postgres(&url)).await;
            let id = format!("pg.c{concurrency}.{}", shape.key());
            let extras = vec![
                ratio(exec.median, pgbench),
                if shape == Shape::Linear {
                    typescript_postgres(concurrency).into()
                } else {
                    String::new()
                },
            ];
            out.put(format!("{id}.exec"), exec);
            out.put(format!("{id}.runs"), per_run);
            table.row(
                vec![
                    format!("1 process × concurrency {concurrency}"),
                    shape.label().into(),
                ],
                vec![format!("{id}.exec"), format!("{id}.runs")],
                extras,
            );
        }
    }
    processes::measure(ctx, &url, pgbench, &mut table, out).await;
    out.sections.insert(
        "postgres".into(),
        Section {
            title: "3. PostgreSQL".into(),
            intro: format!(
                "One database, emptied before each repetition; {} runs created and claimed up front, then drained \
                 by one in-process `WorkerHost` per concurrency, or by separate worker processes (this program's \
                 `worker` mode, concurrency {} each) started together.",
                ctx.plan.database_runs, ctx.plan.process_concurrency
            ),
            tables: vec![table],
            notes: vec![
                "The TypeScript column is the figure given in the issue (measured side by side on this kind of \
                 machine, 2026-12-01, 5 no-op stages); it is not re-measured here."
                    .into(),
            ],
        },
    );
}

/// `value ÷ limit` as `0.123×`, or empty when either is missing.
pub fn ratio(value: Option<f64>, limit: Option<f64>) -> String {
    match (value, limit) {
        (Some(value), Some(limit)) if limit > 0.0 => format!("{:.3}×", value / limit),
        _ => String::new(),
    }
}

/// A section that says why it has no figures.
pub fn skipped_section(title: &str, why: &str) -> Section {
    Section {
        title: title.into(),
        intro: format!("Skipped: {why}"),
        tables: Vec::new(),
        notes: Vec::new(),
    }
}
