//! Scenario 3, several processes: the same drain on PostgreSQL by 2 and 4 worker processes started
//! together (this program's `worker` mode), timed from the moment they are told to go.

use super::throughput::ratio;
use crate::backend::Store;
use crate::drive::{claim_all, create_runs};
use crate::measure::{Figure, Rep};
use crate::pg;
use crate::plan::Context;
use crate::results::{Results, Table};
use crate::worker::WorkerProcess;
use crate::workload::Shape;
use sqlx::Connection;
use std::time::{Duration, Instant};

/// Measures every process count of the plan, adding rows to `table`.
pub async fn measure(
    ctx: &Context,
    url: &str,
    pgbench: Option<f64>,
    table: &mut Table,
    out: &mut Results,
) {
    let per_process = ctx.plan.process_concurrency;
    for &processes in &ctx.plan.postgres_processes {
        for shape in Shape::ALL {
            if shape == Shape::Diamond && !ctx.plan.both_shapes(processes * per_process) {
                continue;
            }
            let (mut execs, mut runs) = (Vec::new(), Vec::new());
            for _ in 0..ctx.plan.reps {
                let (exec, run) = rep(ctx, url, shape, processes).await;
                execs.push(exec);
                runs.push(run);
            }
            let exec = Figure::from_reps(&execs);
            let id = format!("pg.p{processes}.{}", shape.key());
            let extras = vec![ratio(exec.median, pgbench), String::new()];
            out.put(format!("{id}.exec"), exec);
            out.put(format!("{id}.runs"), Figure::from_reps(&runs));
            table.row(
                vec![
                    format!("{processes} processes × concurrency {per_process}"),
                    shape.label().into(),
                ],
                vec![format!("{id}.exec"), format!("{id}.runs")],
                extras,
            );
        }
    }
}

async fn rep(ctx: &Context, url: &str, shape: Shape, processes: usize) -> (Rep, Rep) {
    let failed = |e: String| (Rep::Failed(e.clone()), Rep::Failed(e));
    let runs = ctx.plan.database_runs;
    let setup = async {
        let store = Store::empty_postgres(url).await?;
        let kernel = store.kernel(None);
        create_runs(
            &kernel,
            shape.workflow_id(),
            runs,
            ctx.plan.drain_budget * 2,
        )
        .await?;
        claim_all(&kernel, ctx.plan.drain_budget).await?;
        store.close().await;
        let mut workers = Vec::new();
        for index in 0..processes {
            let id = format!("bench-process-{index}");
            workers.push(
                WorkerProcess::start(&ctx.exe, url, &id, ctx.plan.process_concurrency).await?,
            );
        }
        let conn = sqlx::PgConnection::connect(url)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((workers, conn))
    };
    let (mut workers, mut conn) = match setup.await {
        Ok(ready) => ready,
        Err(error) => return failed(error),
    };
    let begun = Instant::now();
    for worker in &mut workers {
        if let Err(error) = worker.go().await {
            return failed(error);
        }
    }
    let mut completed = 0;
    while begun.elapsed() < ctx.plan.drain_budget {
        completed = pg::completed_runs(&mut conn).await.unwrap_or(0).max(0) as usize;
        if completed >= runs {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seconds = begun.elapsed().as_secs_f64();
    for worker in workers {
        worker.stop().await;
    }
    let executions = (runs * shape.stages()) as f64;
    if completed >= runs {
        return (
            Rep::Done(executions / seconds),
            Rep::Done(runs as f64 / seconds),
        );
    }
    let detail = format!("{completed} of {runs} runs after {seconds:.0} s");
    let done = completed as f64;
    (
        Rep::TimedOut {
            partial: Some(done * shape.stages() as f64 / seconds),
            detail: detail.clone(),
        },
        Rep::TimedOut {
            partial: Some(done / seconds),
            detail,
        },
    )
}
