//! Scenario 6: the peak resident set size of one worker process that holds many suspended runs (their
//! first stage suspends for an hour), on PostgreSQL (or SQLite without a PostgreSQL URL).

use crate::backend::Store;
use crate::drive::{claim_all, create_runs};
use crate::measure::{Figure, Rep, format_number};
use crate::pg;
use crate::plan::Context;
use crate::results::{Results, Section, Table};
use crate::worker::{WorkerProcess, peak_rss_mib};
use std::time::{Duration, Instant};

/// Worker concurrency while it suspends the stages.
const CONCURRENCY: usize = 16;

/// The figure ids.
pub const PEAK: &str = "rss.suspended.peak_mib";
const IDLE: &str = "rss.idle.peak_mib";

/// Measures peak RSS over the plan's repetitions.
pub async fn run(ctx: &Context, out: &mut Results) {
    let target = match &ctx.postgres {
        Some(server) => server
            .create_database("rss")
            .await
            .map(|url| ("PostgreSQL", url)),
        None => Ok((
            "SQLite",
            format!("sqlite:{}", ctx.sqlite_path("rss").display()),
        )),
    };
    let (database, url) = match target {
        Ok(target) => target,
        Err(error) => {
            out.put(PEAK, Figure::skipped(&error));
            return;
        }
    };
    let (mut peaks, mut idles) = (Vec::new(), Vec::new());
    for _ in 0..ctx.plan.reps {
        let (peak, idle) = rep(ctx, &url).await;
        peaks.push(peak);
        idles.push(idle);
    }
    out.put(PEAK, Figure::from_reps(&peaks));
    out.put(IDLE, Figure::from_reps(&idles));
    let held = format_number(ctx.plan.suspended_runs as f64, 0);
    let mut table = Table::new(&["worker"], &[("peak RSS MiB", 1)], &[]);
    table.row(
        vec![format!("holding {held} suspended runs")],
        vec![PEAK.into()],
        vec![],
    );
    table.row(
        vec!["connected, before its first job".into()],
        vec![IDLE.into()],
        vec![],
    );
    out.sections.insert(
        "rss".into(),
        Section {
            title: "6. Memory".into(),
            intro: format!(
                "One worker process (this program's `worker` mode, concurrency {CONCURRENCY}) on {database}; {held} runs \
                 whose stage suspends for an hour are created and claimed up front, and the worker executes them all. \
                 `VmHWM` of `/proc/<pid>/status` once every stage is `SUSPENDED`."
            ),
            tables: vec![table],
            notes: Vec::new(),
        },
    );
}

async fn suspended(store: &Store) -> Result<i64, String> {
    match store {
        Store::Postgres(store) => {
            let mut conn = store.pool().acquire().await.map_err(|e| e.to_string())?;
            pg::stages_with_status(&mut conn, "SUSPENDED")
                .await
                .map_err(|e| e.to_string())
        }
        Store::Sqlite(store) => {
            sqlx::query_scalar("SELECT count(*) FROM \"workflow_stages\" WHERE \"status\" = $1")
                .bind("SUSPENDED")
                .fetch_one(store.pool())
                .await
                .map_err(|e| e.to_string())
        }
        Store::Memory(_) => Err("the memory scenario needs a database".into()),
    }
}

async fn rep(ctx: &Context, url: &str) -> (Rep, Rep) {
    let failed = |e: String| (Rep::Failed(e.clone()), Rep::Failed(e));
    let wanted = ctx.plan.suspended_runs;
    let budget = ctx.plan.drain_budget * 5;
    let setup = async {
        let store = if url.starts_with("sqlite:") {
            let path = url.trim_start_matches("sqlite:");
            let _ = std::fs::remove_file(path);
            Store::sqlite(&path.into()).await?
        } else {
            Store::empty_postgres(url).await?
        };
        let kernel = store.kernel(None);
        create_runs(&kernel, "bench-parked", wanted, budget).await?;
        claim_all(&kernel, budget).await?;
        let worker = WorkerProcess::start(&ctx.exe, url, "bench-rss", CONCURRENCY).await?;
        Ok::<_, String>((store, worker))
    };
    let (store, mut worker) = match setup.await {
        Ok(ready) => ready,
        Err(error) => return failed(error),
    };
    let pid = worker.pid().unwrap_or(0);
    let idle = peak_rss_mib(pid);
    if let Err(error) = worker.go().await {
        return failed(error);
    }
    let begun = Instant::now();
    let mut held = 0;
    while begun.elapsed() < budget {
        held = suspended(&store).await.unwrap_or(0).max(0) as usize;
        if held >= wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peak = peak_rss_mib(pid);
    worker.stop().await;
    store.close().await;
    let idle = idle.map_or_else(|| Rep::Failed("no /proc status".into()), Rep::Done);
    match peak {
        None => (Rep::Failed("no /proc status".into()), idle),
        Some(peak) if held >= wanted => (Rep::Done(peak), idle),
        Some(peak) => (
            Rep::TimedOut {
                partial: Some(peak),
                detail: format!(
                    "{held} of {wanted} stages suspended after {:.0} s",
                    begun.elapsed().as_secs_f64()
                ),
            },
            idle,
        ),
    }
}
