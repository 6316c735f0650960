//! Figures: the median, minimum and maximum over repetitions, with what went wrong in any of them.

use serde::{Deserialize, Serialize};

/// What one repetition measured.
#[derive(Clone, Debug, PartialEq)]
pub enum Rep {
    /// It finished; its value.
    Done(f64),
    /// It did not finish within its time budget; the value it reached (for example the rate of the work
    /// that did finish) and what was left.
    TimedOut {
        /// The value of the part that finished, if any.
        partial: Option<f64>,
        /// What did not finish, e.g. `96 of 400 runs after 60 s`.
        detail: String,
    },
    /// It failed outright.
    Failed(String),
}

/// How a figure came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every repetition finished.
    Ok,
    /// At least one repetition hit its time budget (the value is a lower bound of a rate, or the part
    /// that finished).
    Timeout,
    /// A repetition failed.
    Failed,
    /// Not measured (for example no PostgreSQL URL).
    Skipped,
}

/// A measured figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The median over repetitions (of the values that exist).
    pub median: Option<f64>,
    /// The smallest value.
    pub min: Option<f64>,
    /// The largest value.
    pub max: Option<f64>,
    /// The value of each repetition (timed-out ones with their partial value).
    pub values: Vec<f64>,
    /// Repetitions run.
    pub reps: usize,
    /// How it came out.
    pub outcome: Outcome,
    /// Why it is not plain `ok` (timeouts, failures, too few samples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Figure {
    /// A figure that was not measured, and why.
    pub fn skipped(why: impl Into<String>) -> Figure {
        Figure {
            median: None,
            min: None,
            max: None,
            values: Vec::new(),
            reps: 0,
            outcome: Outcome::Skipped,
            note: Some(why.into()),
        }
    }

    /// Summarizes repetitions.
    pub fn from_reps(reps: &[Rep]) -> Figure {
        let mut values = Vec::new();
        let mut notes = Vec::new();
        let mut outcome = Outcome::Ok;
        for rep in reps {
            match rep {
                Rep::Done(value) => values.push(*value),
                Rep::TimedOut { partial, detail } => {
                    values.extend(*partial);
                    notes.push(format!("timeout: {detail}"));
                    if outcome == Outcome::Ok {
                        outcome = Outcome::Timeout;
                    }
                }
                Rep::Failed(error) => {
                    notes.push(format!("failed: {error}"));
                    outcome = Outcome::Failed;
                }
            }
        }
        notes.dedup();
        let sorted = sorted(&values);
        Figure {
            median: percentile(&sorted, 0.5),
            min: sorted.first().copied(),
            max: sorted.last().copied(),
            values,
            reps: reps.len(),
            outcome,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
        }
    }

    /// `median (min–max)` in `unit`, with the outcome when it is not `ok`.
    pub fn display(&self, digits: usize) -> String {
        let number = |v: f64| format_number(v, digits);
        let value = match (self.median, self.min, self.max) {
            (Some(median), Some(min), Some(max)) if self.values.len() > 1 => {
                format!("{} ({}–{})", number(median), number(min), number(max))
            }
            (Some(median), _, _) => number(median),
            _ => "–".to_owned(),
        };
        match self.outcome {
            Outcome::Ok => value,
            Outcome::Timeout => format!("{value} **timeout**"),
            Outcome::Failed => format!("{value} **failed**"),
            Outcome::Skipped => "skipped".to_owned(),
        }
    }
}

/// `value` with thousands separators and `digits` decimals.
pub fn format_number(value: f64, digits: usize) -> String {
    let text = format!("{value:.digits$}");
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole.to_owned(), Some(fraction.to_owned())),
        None => (text, None),
    };
    let (sign, digits_only) = match whole.strip_prefix('-') {
        Some(rest) => ("-", rest.to_owned()),
        None => ("", whole),
    };
    let mut grouped = String::new();
    for (i, c) in digits_only.chars().enumerate() {
        if i > 0 && (digits_only.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `values` sorted ascending (NaN last).
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The `q` quantile (0..=1) of sorted values, by the nearest-rank method.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_summarize_repetitions_and_keep_timeouts() {
        let figure = Figure::from_reps(&[Rep::Done(3.0), Rep::Done(1.0), Rep::Done(2.0)]);
        assert_eq!(
            (figure.median, figure.min, figure.max),
            (Some(2.0), Some(1.0), Some(3.0))
        );
        assert_eq!(figure.outcome, Outcome::Ok);
        assert_eq!(figure.display(0), "2 (1–3)");

        let stalled = Figure::from_reps(&[
            Rep::Done(10.0),
            Rep::TimedOut {
                partial: Some(4.0),
                detail: "96 of 400 runs after 60 s".into(),
            },
        ]);
        assert_eq!(stalled.outcome, Outcome::Timeout);
        assert_eq!(
            stalled.note.as_deref(),
            Some("timeout: 96 of 400 runs after 60 s")
        );
        assert!(stalled.display(0).ends_with("**timeout**"));
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values = sorted(&[5.0, 1.0, 4.0, 2.0, 3.0]);
        assert_eq!(percentile(&values, 0.5), Some(3.0));
        assert_eq!(percentile(&values, 0.99), Some(5.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(format_number(1234567.891, 1), "1,234,567.9");
        assert_eq!(format_number(-1234.0, 0), "-1,234");
        assert_eq!(format_number(12.0, 0), "12");
    }
}
