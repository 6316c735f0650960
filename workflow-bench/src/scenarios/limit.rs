//! Scenario 8, the machine's own limit: `pgbench` with a one-row `INSERT` script at 8 clients (commits/s),
//! and a raw sqlx loop of one-row `INSERT` transactions on a SQLite file opened as the engine opens it.

use crate::measure::{Figure, Rep};
use crate::plan::Context;
use crate::results::{Results, Section, Table};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::time::{Duration, Instant};

/// The figure ids.
pub const PGBENCH_TPS: &str = "limit.pgbench.tps";
/// The SQLite loop's transactions per second.
pub const SQLITE_TPS: &str = "limit.sqlite.tps";

/// Measures both limits.
pub async fn run(ctx: &Context, out: &mut Results) {
    let pgbench = match &ctx.postgres {
        Some(server) => match server.create_database("limit").await {
            Ok(url) => {
                let mut reps = Vec::new();
                for _ in 0..ctx.plan.reps {
                    reps.push(pgbench_rep(&url, ctx).await);
                }
                Figure::from_reps(&reps)
            }
            Err(error) => Figure::from_reps(&[Rep::Failed(error)]),
        },
        None => Figure::skipped(&ctx.postgres_missing),
    };
    out.put(PGBENCH_TPS, pgbench);
    let mut reps = Vec::new();
    for _ in 0..ctx.plan.reps {
        reps.push(sqlite_rep(ctx).await);
    }
    out.put(SQLITE_TPS, Figure::from_reps(&reps));

    let mut table = Table::new(&["limit", "how"], &[("commits/s", 0)], &[]);
    table.row(
        vec![
            "PostgreSQL".into(),
            format!(
                "pgbench -n -c 8 -j 2 -T {} -f insert.sql (one-row INSERT per transaction)",
                ctx.plan.limit_duration.as_secs().max(1)
            ),
        ],
        vec![PGBENCH_TPS.into()],
        vec![],
    );
    table.row(
        vec![
            "SQLite".into(),
            "one sqlx connection, BEGIN; INSERT one row; COMMIT in a loop (WAL, synchronous=NORMAL, as the engine opens files)".into(),
        ],
        vec![SQLITE_TPS.into()],
        vec![],
    );
    out.sections.insert(
        "limit".into(),
        Section {
            title: "8. The machine's own limit".into(),
            intro: "Measured in the same sitting as the other figures; the PostgreSQL and SQLite throughput \
                    tables show each figure as a ratio to these."
                .into(),
            tables: vec![table],
            notes: Vec::new(),
        },
    );
}

async fn pgbench_rep(url: &str, ctx: &Context) -> Rep {
    let setup = async {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .map_err(|e| e.to_string())?;
        sqlx::raw_sql(
            "DROP TABLE IF EXISTS bench_insert; CREATE TABLE bench_insert (id bigserial PRIMARY KEY, v integer NOT NULL)",
        )
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
        let script = ctx.scratch.join("pgbench-insert.sql");
        std::fs::write(&script, "INSERT INTO bench_insert (v) VALUES (1);\n")
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(script)
    };
    let script = match setup.await {
        Ok(script) => script,
        Err(error) => return Rep::Failed(error),
    };
    let seconds = ctx.plan.limit_duration.as_secs().max(1).to_string();
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-c", "8", "-j", "2", "-T", &seconds, "-f"])
        .arg(&script)
        .arg(url)
        .output();
    let output = match tokio::time::timeout(
        ctx.plan.limit_duration * 3 + Duration::from_secs(10),
        output,
    )
    .await
    {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => return Rep::Failed(format!("cannot run pgbench: {error}")),
        Err(_) => {
            return Rep::TimedOut {
                partial: None,
                detail: "pgbench did not finish".into(),
            };
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match parse_tps(&stdout) {
        Some(tps) => Rep::Done(tps),
        None => Rep::Failed(format!(
            "pgbench printed no tps line: {}{}",
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// The `tps = N (without initial connection time)` figure of pgbench's report.
fn parse_tps(report: &str) -> Option<f64> {
    report
        .lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line["tps = ".len()..].split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

async fn sqlite_rep(ctx: &Context) -> Rep {
    let path = ctx.sqlite_path("limit");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30));
    let run = async {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        sqlx::raw_sql("CREATE TABLE bench_insert (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")
            .execute(&pool)
            .await?;
        let begun = Instant::now();
        let mut commits = 0u64;
        while begun.elapsed() < ctx.plan.limit_duration {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO bench_insert (v) VALUES ($1)")
                .bind(1_i64)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            commits += 1;
        }
        let rate = commits as f64 / begun.elapsed().as_secs_f64();
        pool.close().await;
        Ok::<_, sqlx::Error>(rate)
    };
    let result = run.await;
    let _ = std::fs::remove_file(&path);
    match result {
        Ok(rate) => Rep::Done(rate),
        Err(error) => Rep::Failed(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pgbench_reports_are_parsed() {
        let report = "number of failed transactions: 0 (0.000%)\nlatency average = 0.710 ms\n\
                      initial connection time = 11.027 ms\ntps = 11270.118263 (without initial connection time)\n";
        assert_eq!(super::parse_tps(report), Some(11270.118263));
        assert_eq!(super::parse_tps("no figures"), None);
    }
}
