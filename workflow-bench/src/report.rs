//! `bench/REPORT.md`: the sitting's figures as Markdown tables, an earlier sitting beside them, the targets
//! with their status, and the hand-written analysis of missed targets.

use crate::measure::Figure;
use crate::results::{Results, Table};
use crate::targets;
use std::fmt::Write;

/// The order of the sections.
pub const ORDER: [&str; 8] = [
    "memory", "sqlite", "postgres", "latency", "scale", "rss", "cost", "limit",
];

fn cell(figure: Option<&Figure>, digits: usize) -> String {
    figure.map_or_else(|| "–".to_owned(), |f| f.display(digits))
}

fn escape(text: &str) -> String {
    text.replace('\n', " ")
}

fn render_table(
    out: &mut String,
    table: &Table,
    results: &Results,
    baseline: Option<&Results>,
    notes: &mut Vec<String>,
) {
    let mut headers: Vec<String> = table.labels.clone();
    for (header, _) in &table.figures {
        headers.push(header.clone());
        if baseline.is_some() {
            headers.push(format!("before: {header}"));
        }
    }
    headers.extend(table.extras.iter().cloned());
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(headers.len()));
    for row in &table.rows {
        let mut cells: Vec<String> = row.labels.iter().map(|l| escape(l)).collect();
        for ((_, digits), id) in table.figures.iter().zip(&row.figures) {
            let figure = results.get(id);
            if let Some(note) = figure.and_then(|f| f.note.as_ref()) {
                notes.push(format!("`{id}`: {note}"));
            }
            cells.push(cell(figure, *digits));
            if let Some(baseline) = baseline {
                cells.push(cell(baseline.get(id), *digits));
            }
        }
        cells.extend(row.extras.iter().map(|e| escape(e)));
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}

/// The whole report.
pub fn render(results: &Results, baseline: Option<&Results>, analysis: Option<&str>) -> String {
    let meta = &results.meta;
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark report\n");
    let _ = writeln!(
        out,
        "Written by `workflow-bench {}` ({} mode) on {}.\n",
        meta.command, meta.mode, meta.date
    );
    let _ = writeln!(out, "| machine | |\n|---|---|");
    let _ = writeln!(out, "| `nproc` | {} |", meta.nproc);
    let _ = writeln!(out, "| CPU | {} |", meta.cpu);
    let _ = writeln!(out, "| memory | {:.0} GiB |", meta.memory_gib);
    let _ = writeln!(
        out,
        "| PostgreSQL | {} |",
        meta.postgres.as_deref().unwrap_or("not used")
    );
    let _ = writeln!(out, "| SQLite | {} |", meta.sqlite);
    let _ = writeln!(out, "| engine commit | `{}` |\n", meta.commit);
    let _ = writeln!(
        out,
        "Each figure is the median of its repetitions with (min–max). **timeout** marks a figure with a repetition \
         that did not finish within its time budget: its value is the rate of the work that did finish (a stall \
         shows as a low rate). The machine is shared and noisy: compare figures within one sitting.\n"
    );
    if let Some(baseline) = baseline {
        let _ = writeln!(
            out,
            "The **before** columns are the sitting of {} at commit `{}` ({} mode).\n",
            baseline.meta.date, baseline.meta.commit, baseline.meta.mode
        );
    }

    let _ = writeln!(out, "## Targets (\"Execution core v2\")\n");
    let before = baseline.map(targets::check);
    let _ = writeln!(
        out,
        "| target | measured |{} status |\n|---|---|{}---|",
        if before.is_some() { " before |" } else { "" },
        if before.is_some() { "---|" } else { "" }
    );
    for check in &targets::check(results) {
        let status = match check.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "not measured",
        };
        let earlier = before.as_ref().map_or(String::new(), |checks| {
            let measured = checks
                .iter()
                .find(|c| c.key == check.key)
                .map_or("–", |c| c.measured.as_str());
            format!(" {measured} |")
        });
        let _ = writeln!(
            out,
            "| {} | {} |{earlier} {status} |",
            check.target, check.measured
        );
    }
    out.push('\n');

    for name in ORDER {
        let Some(section) = results.sections.get(name) else {
            continue;
        };
        let _ = writeln!(out, "## {}\n", section.title);
        let _ = writeln!(out, "{}\n", section.intro);
        let mut notes = Vec::new();
        for table in &section.tables {
            render_table(&mut out, table, results, baseline, &mut notes);
        }
        for note in section.notes.iter().chain(&notes) {
            let _ = writeln!(out, "- {note}");
        }
        if !section.notes.is_empty() || !notes.is_empty() {
            out.push('\n');
        }
    }
    if let Some(analysis) = analysis {
        let _ = writeln!(out, "## What limits the missed targets\n");
        let _ = writeln!(out, "{}", analysis.trim());
    }
    out
}
