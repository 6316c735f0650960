//! The sizes and time budgets of a sitting (`full`, or `--smoke` for CI), and what every scenario shares.

use crate::pg::PgServer;
use std::path::PathBuf;
use std::time::Duration;

/// Sizes and budgets.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Tiny sizes and short budgets (CI); figures are not meaningful.
    pub smoke: bool,
    /// Repetitions per figure.
    pub reps: usize,
    /// In-memory run counts.
    pub memory_runs: Vec<usize>,
    /// SQLite worker concurrencies.
    pub sqlite_concurrency: Vec<usize>,
    /// PostgreSQL worker concurrencies (one process).
    pub postgres_concurrency: Vec<usize>,
    /// PostgreSQL worker processes (each with [`Plan::process_concurrency`]).
    pub postgres_processes: Vec<usize>,
    /// Concurrency of each worker process.
    pub process_concurrency: usize,
    /// Runs per throughput repetition on a database.
    pub database_runs: usize,
    /// Time allowed for one throughput drain.
    pub drain_budget: Duration,
    /// Latency samples per repetition.
    pub latency_samples: usize,
    /// Time allowed for the samples of one latency repetition.
    pub latency_budget: Duration,
    /// Historical runs loaded for the scale scenario.
    pub historical_runs: usize,
    /// Suspended runs held by the worker of the memory scenario.
    pub suspended_runs: usize,
    /// Runs of the cost scenario.
    pub cost_runs: usize,
    /// Duration of each machine-limit measurement.
    pub limit_duration: Duration,
}

impl Plan {
    /// The full sitting.
    pub fn full(reps: usize) -> Plan {
        Plan {
            smoke: false,
            reps,
            memory_runs: vec![100, 1_000, 10_000],
            sqlite_concurrency: vec![1, 4, 8, 16],
            postgres_concurrency: vec![1, 4, 16, 64],
            postgres_processes: vec![2, 4],
            process_concurrency: 16,
            database_runs: 300,
            drain_budget: Duration::from_secs(40),
            latency_samples: 200,
            latency_budget: Duration::from_secs(40),
            historical_runs: 1_000_000,
            suspended_runs: 10_000,
            cost_runs: 100,
            limit_duration: Duration::from_secs(10),
        }
    }

    /// Every scenario at tiny size, in well under a minute.
    pub fn smoke() -> Plan {
        Plan {
            smoke: true,
            reps: 1,
            memory_runs: vec![10, 20, 40],
            sqlite_concurrency: vec![1, 4, 8, 16],
            postgres_concurrency: vec![1, 4, 16, 64],
            postgres_processes: vec![2, 4],
            process_concurrency: 4,
            database_runs: 8,
            drain_budget: Duration::from_secs(3),
            latency_samples: 3,
            latency_budget: Duration::from_millis(1500),
            historical_runs: 1_000,
            suspended_runs: 40,
            cost_runs: 5,
            limit_duration: Duration::from_secs(1),
        }
    }

    /// Whether both workload shapes are measured at this concurrency (smoke mode measures the diamond
    /// only once per backend).
    pub fn both_shapes(&self, concurrency: usize) -> bool {
        !self.smoke || concurrency == 4
    }
}

/// What every scenario of a sitting shares.
pub struct Context {
    /// Sizes and budgets.
    pub plan: Plan,
    /// The PostgreSQL server, if a URL was given and it answers.
    pub postgres: Option<PgServer>,
    /// Why PostgreSQL scenarios are skipped, when they are.
    pub postgres_missing: String,
    /// A directory for SQLite files, removed at the end.
    pub scratch: PathBuf,
    /// This program, to start worker processes.
    pub exe: PathBuf,
}

impl Context {
    /// A fresh SQLite file path in the scratch directory.
    pub fn sqlite_path(&self, purpose: &str) -> PathBuf {
        self.scratch
            .join(format!("{purpose}-{}.db", workflow_core::ids::uuid()))
    }
}
