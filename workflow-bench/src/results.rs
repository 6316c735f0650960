//! The results of a benchmark sitting: every figure by id, and the tables that lay them out. Saved as JSON
//! (`bench/results.json`) so that a later sitting can merge into it and show an earlier one beside it.

use crate::measure::Figure;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Where and when the figures were measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// UTC date and time of the sitting.
    pub date: String,
    /// `nproc`.
    pub nproc: usize,
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// Total memory in GiB.
    pub memory_gib: f64,
    /// `SELECT version()` of the PostgreSQL server, if one was used.
    pub postgres: Option<String>,
    /// The SQLite library version.
    pub sqlite: String,
    /// The engine's commit (`git describe --always --dirty`).
    pub commit: String,
    /// `full` or `smoke`.
    pub mode: String,
    /// The arguments the benchmark was started with.
    #[serde(default)]
    pub command: String,
}

/// One table of a section. Figure cells name figures by id; a table shown beside a baseline gets a
/// "before" column after each figure column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// Headers of the label columns.
    pub labels: Vec<String>,
    /// Headers of the figure columns, with the decimals to show.
    pub figures: Vec<(String, usize)>,
    /// Headers of the trailing text columns.
    pub extras: Vec<String>,
    /// The rows.
    pub rows: Vec<Row>,
}

/// A row of a [`Table`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// One text per label column.
    pub labels: Vec<String>,
    /// One figure id per figure column.
    pub figures: Vec<String>,
    /// One text per extra column.
    pub extras: Vec<String>,
}

impl Table {
    /// A table with these headers.
    pub fn new(labels: &[&str], figures: &[(&str, usize)], extras: &[&str]) -> Table {
        Table {
            labels: labels.iter().map(|s| s.to_string()).collect(),
            figures: figures.iter().map(|(s, d)| (s.to_string(), *d)).collect(),
            extras: extras.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, labels: Vec<String>, figures: Vec<String>, extras: Vec<String>) {
        self.rows.push(Row {
            labels,
            figures,
            extras,
        });
    }
}

/// What one scenario reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The heading.
    pub title: String,
    /// What was measured and how (shown above the tables).
    pub intro: String,
    /// Its tables.
    pub tables: Vec<Table>,
    /// Remarks (shown below the tables).
    pub notes: Vec<String>,
}

/// Every figure and section of a sitting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The sitting.
    pub meta: Meta,
    /// Figures by id.
    pub figures: BTreeMap<String, Figure>,
    /// Sections by scenario name.
    pub sections: BTreeMap<String, Section>,
}

impl Results {
    /// Reads results saved earlier; `None` if the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Results>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(format!("{}: {error}", path.display())),
        }
    }

    /// Writes the results as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).expect("results serialize");
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Records a figure.
    pub fn put(&mut self, id: impl Into<String>, figure: Figure) {
        self.figures.insert(id.into(), figure);
    }

    /// A figure by id.
    pub fn get(&self, id: &str) -> Option<&Figure> {
        self.figures.get(id)
    }

    /// The median of a figure, if it was measured.
    pub fn median(&self, id: &str) -> Option<f64> {
        self.get(id).and_then(|f| f.median)
    }

    /// Replaces the figures and section of `scenario` with those of `fresh` (figure ids start with the
    /// scenario's prefix), keeping everything else.
    pub fn merge_scenario(&mut self, scenario: &str, prefix: &str, fresh: &Results) {
        self.figures.retain(|id, _| !id.starts_with(prefix));
        self.figures.extend(
            fresh
                .figures
                .iter()
                .filter(|(id, _)| id.starts_with(prefix))
                .map(|(id, f)| (id.clone(), f.clone())),
        );
        match fresh.sections.get(scenario) {
            Some(section) => {
                self.sections.insert(scenario.to_owned(), section.clone());
            }
            None => {
                self.sections.remove(scenario);
            }
        }
    }
}
