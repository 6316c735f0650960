//! The scenarios of the benchmark, one module each (scenario numbers as in the "Benchmarks" issue).

pub mod cost;
mod latency;
mod latency_samples;
pub mod limit;
pub mod memory_rss;
mod processes;
mod scale;
mod throughput;

use crate::plan::Context;
use crate::results::Results;

/// A scenario that can be run on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// 1: the in-memory kernel at 100, 1,000 and 10,000 runs.
    Memory,
    /// 2: SQLite at concurrency 1, 4, 8 and 16.
    Sqlite,
    /// 3: PostgreSQL at concurrency 1, 4, 16 and 64, and with 2 and 4 worker processes.
    Postgres,
    /// 4: latency on PostgreSQL and SQLite with an idle worker and default settings.
    Latency,
    /// 5: PostgreSQL throughput with 10⁶ historical runs versus empty tables.
    Scale,
    /// 6: peak RSS of one worker holding 10,000 suspended runs.
    Rss,
    /// 7: commits and statements per stage execution on PostgreSQL.
    Cost,
    /// 8: the machine's own limit (pgbench; a raw SQLite loop).
    Limit,
}

impl Scenario {
    /// Every scenario, the limit first (the throughput tables are shown as ratios to it).
    pub const ALL: [Scenario; 8] = [
        Scenario::Limit,
        Scenario::Memory,
        Scenario::Sqlite,
        Scenario::Postgres,
        Scenario::Latency,
        Scenario::Scale,
        Scenario::Rss,
        Scenario::Cost,
    ];

    /// The section name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Memory => "memory",
            Scenario::Sqlite => "sqlite",
            Scenario::Postgres => "postgres",
            Scenario::Latency => "latency",
            Scenario::Scale => "scale",
            Scenario::Rss => "rss",
            Scenario::Cost => "cost",
            Scenario::Limit => "limit",
        }
    }

    /// The prefix of its figure ids.
    pub fn prefix(self) -> &'static str {
        match self {
            Scenario::Postgres => "pg.",
            Scenario::Memory => "memory.",
            Scenario::Sqlite => "sqlite.",
            Scenario::Latency => "latency.",
            Scenario::Scale => "scale.",
            Scenario::Rss => "rss.",
            Scenario::Cost => "cost.",
            Scenario::Limit => "limit.",
        }
    }

    /// Whether its tables are shown as ratios to the machine's limit.
    pub fn needs_limit(self) -> bool {
        matches!(
            self,
            Scenario::Sqlite | Scenario::Postgres | Scenario::Scale
        )
    }

    /// Runs it, adding its figures and section to `out`.
    pub async fn run(self, ctx: &Context, out: &mut Results) {
        match self {
            Scenario::Memory => throughput::memory(ctx, out).await,
            Scenario::Sqlite => throughput::sqlite(ctx, out).await,
            Scenario::Postgres => throughput::postgres(ctx, out).await,
            Scenario::Latency => latency::run(ctx, out).await,
            Scenario::Scale => scale::run(ctx, out).await,
            Scenario::Rss => memory_rss::run(ctx, out).await,
            Scenario::Cost => cost::run(ctx, out).await,
            Scenario::Limit => limit::run(ctx, out).await,
        }
    }
}
