//! The targets of "Execution core v2", each checked against the figures of a sitting.

use crate::measure::{Figure, Outcome, format_number};
use crate::results::Results;
use crate::scenarios::{cost, limit, memory_rss};

/// A target and how its figure compares.
pub struct Check {
    /// What identifies the target across sittings (its wording may carry a figure of the sitting).
    pub key: String,
    /// What is wanted.
    pub target: String,
    /// What was measured.
    pub measured: String,
    /// `Some(true)` met, `Some(false)` missed, `None` not measured.
    pub met: Option<bool>,
}

fn value(figure: Option<&Figure>) -> Option<f64> {
    figure
        .filter(|f| !matches!(f.outcome, Outcome::Skipped | Outcome::Failed))
        .and_then(|f| f.median)
}

/// "at least" / "at most" a number, with the figure's own outcome (a timeout never meets a target).
fn bound(
    results: &Results,
    id: &str,
    at_least: bool,
    limit: f64,
    unit: &str,
) -> (String, Option<bool>) {
    let figure = results.get(id);
    match value(figure) {
        Some(v) => {
            let timed_out = figure.is_some_and(|f| f.outcome == Outcome::Timeout);
            let met = !timed_out && if at_least { v >= limit } else { v <= limit };
            let suffix = if timed_out { " (timeout)" } else { "" };
            (
                format!(
                    "{}{unit}{suffix}",
                    format_number(v, if v < 10.0 { 2 } else { 0 })
                ),
                Some(met),
            )
        }
        None => ("not measured".into(), None),
    }
}

/// Every target, checked.
pub fn check(results: &Results) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut add_keyed = |key: String, target: String, (measured, met): (String, Option<bool>)| {
        checks.push(Check {
            key,
            target,
            measured,
            met,
        })
    };
    let pgbench = results.median(limit::PGBENCH_TPS);
    for id in results
        .figures
        .keys()
        .filter(|id| id.starts_with("pg.") && id.ends_with(".exec"))
        // Concurrency 1 and 4 are bound by the latency of one stage, not by the database.
        .filter(|id| id.starts_with("pg.c16") || id.starts_with("pg.c64") || id.starts_with("pg.p"))
    {
        let floor = pgbench.map_or(2_000.0, |tps| (tps * 0.2).max(2_000.0));
        add_keyed(
            id.clone(),
            format!(
                "PostgreSQL `{id}` ≥ max(0.2 × pgbench, 2,000) = {} stage exec/s",
                format_number(floor, 0)
            ),
            bound(results, id, true, floor, "/s"),
        );
    }
    let mut add = |target: String, result| add_keyed(target.clone(), target, result);
    add(
        "≤ 2 commits per stage execution (PostgreSQL)".into(),
        bound(results, cost::COMMITS, false, 2.0, ""),
    );
    add(
        "≤ 10 statements per stage execution (PostgreSQL)".into(),
        bound(results, cost::STATEMENTS, false, 10.0, ""),
    );
    for id in results
        .figures
        .keys()
        .filter(|id| id.starts_with("sqlite.") && id.ends_with(".exec"))
    {
        add(
            format!("SQLite `{id}` ≥ 1,500 stage exec/s"),
            bound(results, id, true, 1_500.0, "/s"),
        );
    }
    let memory: Vec<&String> = results
        .figures
        .keys()
        .filter(|id| id.starts_with("memory.") && id.ends_with(".exec"))
        .collect();
    for id in &memory {
        add(
            format!("in memory `{id}` ≥ 50,000 stage exec/s"),
            bound(results, id, true, 50_000.0, "/s"),
        );
    }
    let rates: Vec<f64> = memory
        .iter()
        .filter_map(|id| value(results.get(id)))
        .collect();
    let flat = (rates.len() == memory.len() && !rates.is_empty()).then(|| {
        let (min, max) = rates
            .iter()
            .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(*r), hi.max(*r)));
        min / max
    });
    add(
        "in memory flat in N: slowest ÷ fastest ≥ 0.8".into(),
        match flat {
            Some(ratio) => (format!("{ratio:.2}"), Some(ratio >= 0.8)),
            None => ("not measured".into(), None),
        },
    );
    for db in ["postgres", "sqlite"] {
        for (metric, q, limit, what) in [
            ("handoff", "p50", 5.0, "hand-off p50 ≤ 5 ms"),
            ("handoff", "p99", 50.0, "hand-off p99 ≤ 50 ms"),
            (
                "create_first",
                "p50",
                20.0,
                "create → first stage p50 ≤ 20 ms",
            ),
            (
                "poll",
                "p99",
                50.0,
                "suspended check within 50 ms of `nextPollAt` (p99)",
            ),
            (
                "event",
                "p99",
                50.0,
                "event delivery within 50 ms of commit (p99)",
            ),
        ] {
            add(
                format!("{db}: {what}"),
                bound(
                    results,
                    &format!("latency.{db}.{metric}.{q}"),
                    false,
                    limit,
                    " ms",
                ),
            );
        }
    }
    let scale = match (
        value(results.get("scale.loaded.exec")),
        value(results.get("scale.empty.exec")),
    ) {
        (Some(loaded), Some(empty)) if empty > 0.0 => {
            let ratio = loaded / empty;
            (format!("{:.0}%", ratio * 100.0), Some(ratio >= 0.8))
        }
        _ => ("not measured".into(), None),
    };
    add("≥ 80% throughput with 10⁶ historical runs".into(), scale);
    add(
        "≤ 100 MB RSS for 10,000 suspended runs".into(),
        bound(results, memory_rss::PEAK, false, 100.0 / 1.048_576, " MiB"),
    );
    checks
}
