//! Scenario 4: latency on PostgreSQL and SQLite with an idle worker and the default `HostConfig`.

use super::latency_samples::{
    Samples, TimingSink, create_to_first_stage, deliveries, hand_offs, poll_delays,
};
use crate::backend::{Kind, Store};
use crate::measure::{Figure, Rep, percentile, sorted};
use crate::plan::Context;
use crate::results::{Results, Section, Table};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workflow_core::hosts::{HostConfig, WorkerHost};

/// The measured latencies.
const METRICS: [(&str, &str); 4] = [
    ("create_first", "run create → first stage start"),
    ("handoff", "stage completion → next stage start"),
    ("poll", "`nextPollAt` → check (`poll_every(200ms)`)"),
    ("event", "event commit → delivery to a sink"),
];

/// Measures both databases.
pub async fn run(ctx: &Context, out: &mut Results) {
    let mut table = Table::new(
        &["database", "latency"],
        &[("p50 ms", 2), ("p99 ms", 2)],
        &["samples per repetition"],
    );
    for kind in [Kind::Postgres, Kind::Sqlite] {
        let url = match (kind, &ctx.postgres) {
            (Kind::Postgres, Some(server)) => match server.create_database("latency").await {
                Ok(url) => Some(url),
                Err(error) => {
                    record_skipped(out, kind, &error);
                    continue;
                }
            },
            (Kind::Postgres, None) => {
                record_skipped(out, kind, &ctx.postgres_missing);
                continue;
            }
            _ => None,
        };
        let mut reps: Vec<[(Rep, Rep, usize); 4]> = Vec::new();
        for _ in 0..ctx.plan.reps {
            let store = match &url {
                Some(url) => Store::empty_postgres(url).await,
                None => Store::sqlite(&ctx.sqlite_path("latency")).await,
            };
            match store {
                Ok(store) => reps.push(rep(ctx, store).await),
                Err(error) => {
                    record_skipped(out, kind, &error);
                    break;
                }
            }
        }
        for (index, (metric, label)) in METRICS.iter().enumerate() {
            let id = format!("latency.{}.{metric}", kind.name());
            let p50: Vec<Rep> = reps.iter().map(|r| r[index].0.clone()).collect();
            let p99: Vec<Rep> = reps.iter().map(|r| r[index].1.clone()).collect();
            let counts: Vec<String> = reps.iter().map(|r| r[index].2.to_string()).collect();
            if !reps.is_empty() {
                out.put(format!("{id}.p50"), Figure::from_reps(&p50));
                out.put(format!("{id}.p99"), Figure::from_reps(&p99));
            }
            table.row(
                vec![kind.name().into(), (*label).into()],
                vec![format!("{id}.p50"), format!("{id}.p99")],
                vec![counts.join(", ")],
            );
        }
    }
    out.sections.insert(
        "latency".into(),
        Section {
            title: "4. Latency (idle worker, default `HostConfig`)".into(),
            intro: format!(
                "One in-process `WorkerHost` with `HostConfig::new(..)` defaults, idle between samples. Create → first \
                 stage: one run at a time, timed from `dispatch(RunCreate)` to the first stage body. Hand-off: the \
                 5-stage probe workflow, from a stage body's return to the next body's start. Poll: stages suspended \
                 with `poll_every(200ms)` in batches of ten, from the stored `nextPollAt` to the check (wall clock). \
                 Event: every delivered event, from its `occurredAt` to the sink. Up to {} samples per metric and \
                 repetition, within {} s each; a repetition that ran out of time is marked timeout.",
                ctx.plan.latency_samples,
                ctx.plan.latency_budget.as_secs_f64()
            ),
            tables: vec![table],
            notes: Vec::new(),
        },
    );
}

fn record_skipped(out: &mut Results, kind: Kind, why: &str) {
    for (metric, _) in METRICS {
        for q in ["p50", "p99"] {
            out.put(
                format!("latency.{}.{metric}.{q}", kind.name()),
                Figure::skipped(why),
            );
        }
    }
}

/// p50 and p99 of `samples`, as repetitions (timed out when the budget cut them short).
fn quantiles(samples: &Samples, wanted: usize) -> (Rep, Rep, usize) {
    let values = sorted(&samples.values);
    let count = values.len();
    let make = |q: f64| {
        let value = percentile(&values, q);
        if samples.cut_short {
            Rep::TimedOut {
                partial: value,
                detail: format!("{count} of {wanted} samples within the budget"),
            }
        } else {
            value.map_or_else(|| Rep::Failed("no samples".into()), Rep::Done)
        }
    };
    (make(0.5), make(0.99), count)
}

async fn rep(ctx: &Context, store: Store) -> [(Rep, Rep, usize); 4] {
    let sink = Arc::new(TimingSink::default());
    let kernel = store.kernel(Some(sink.clone()));
    let host = WorkerHost::new(kernel.clone(), HostConfig::new("bench-latency"));
    host.start()
        .await
        .expect("the benchmark's host settings are valid");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (wanted, budget) = (ctx.plan.latency_samples, ctx.plan.latency_budget);
    let create = create_to_first_stage(&kernel, wanted, budget).await;
    let handoff = hand_offs(&kernel, wanted, budget).await;
    let poll = poll_delays(&kernel, wanted, budget).await;
    // Events still in the outbox get until the end of one maintenance interval to arrive.
    let expected = outbox_rows(&store).await;
    let grace = if ctx.plan.smoke {
        Duration::from_millis(1500)
    } else {
        Duration::from_secs(11)
    };
    let (mut events, missing) = deliveries(&sink, expected, Instant::now() + grace).await;
    let _ = tokio::time::timeout(Duration::from_secs(15), host.stop()).await;
    store.close().await;
    let event_wanted = expected.max(1);
    let mut event = quantiles(&events, event_wanted);
    if missing > 0 {
        events.cut_short = true;
        event = quantiles(&events, event_wanted);
        if let Rep::TimedOut { detail, .. } = &mut event.0 {
            *detail = format!("{missing} of {expected} events not delivered");
        }
        if let Rep::TimedOut { detail, .. } = &mut event.1 {
            *detail = format!("{missing} of {expected} events not delivered");
        }
    }
    [
        quantiles(&create, wanted),
        quantiles(&handoff, wanted),
        quantiles(&poll, wanted),
        event,
    ]
}

/// Rows in the outbox (every event the engine has committed).
async fn outbox_rows(store: &Store) -> usize {
    let counted: Result<i64, sqlx::Error> = match store {
        Store::Postgres(store) => {
            sqlx::query_scalar("SELECT count(*) FROM \"outbox_events\"")
                .fetch_one(store.pool())
                .await
        }
        Store::Sqlite(store) => {
            sqlx::query_scalar("SELECT count(*) FROM \"outbox_events\"")
                .fetch_one(store.pool())
                .await
        }
        Store::Memory(_) => Ok(0),
    };
    counted.unwrap_or(0).max(0) as usize
}
