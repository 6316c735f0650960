//! What a stage body records besides its output: logs, progress updates, annotations, metrics and artifacts.
//! The engine persists them with the stage's outcome (logs as they happen, when a log writer is attached).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex, MutexGuard};

/// A log level, stored as text in `workflow_logs.level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Stored as `DEBUG`.
    Debug,
    /// Stored as `INFO`.
    Info,
    /// Stored as `WARN` (`WARNING` is read as this too).
    Warn,
    /// Stored as `ERROR`; the engine logs failed stages at this level.
    Error,
}

impl LogLevel {
    /// The stored text: `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        }
    }

    /// Parses the stored text (case-insensitive; `WARNING` is `WARN`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "DEBUG" => Some(LogLevel::Debug),
            "INFO" => Some(LogLevel::Info),
            "WARN" | "WARNING" => Some(LogLevel::Warn),
            "ERROR" => Some(LogLevel::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    /// [`LogLevel::parse`], with an error naming the accepted values.
    fn from_str(text: &str) -> Result<Self, String> {
        LogLevel::parse(text).ok_or_else(|| {
            format!("unknown log level {text:?} (expected DEBUG, INFO, WARN or ERROR)")
        })
    }
}

/// One log line of a stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// How severe: stored as `workflow_logs.level` and mirrored to `tracing` at the same level.
    pub level: LogLevel,
    /// The line as written by the stage (`workflow_logs.message`).
    pub message: String,
    /// Structured fields (`metadata`), if any.
    pub fields: Option<Value>,
}

/// One `ctx.progress(..)` call; becomes a `stage:progress` event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgressUpdate {
    /// Fraction done, clamped to `0.0..=1.0`.
    pub progress: f64,
    /// What is happening.
    pub message: String,
    /// Extra details, if any.
    pub details: Option<Value>,
}

/// Who made an annotation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `"agent"`, `"user"`, `"system"`, ... (`actorKind`).
    pub kind: Option<String>,
    /// Who, within the kind: a user id, an agent name (`actorId`).
    pub id: Option<String>,
    /// The actor's version, e.g. a model or prompt version (`actorVersion`).
    pub version: Option<String>,
}

/// One annotation (a key/value fact about a run or stage, `workflow_annotations`).
///
/// ```
/// use workflow_core::Annotation;
///
/// let note = Annotation::new("decision.outcome", "approved")
///     .actor_kind("agent")
///     .actor_id("reviewer-1")
///     .idempotency_key("review-1")
///     .emit_event();
/// assert_eq!(note.key, "decision.outcome");
/// assert!(note.emit_event);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// Dot-namespaced key, e.g. `trigger.source`.
    pub key: String,
    /// Value (scalars or arrays of scalars are easiest to query).
    pub value: Value,
    /// Who made it.
    pub actor: Actor,
    /// Rich data that is not meant to be queried.
    pub payload: Option<Value>,
    /// Rows with the same `(run, key, idempotency key)` are written once.
    pub idempotency_key: Option<String>,
    /// Whether to emit an `annotation:created` event.
    pub emit_event: bool,
}

impl Annotation {
    /// An annotation `key = value`. A value that cannot be serialized becomes `null` (and is skipped).
    pub fn new(key: impl Into<String>, value: impl Serialize) -> Self {
        Annotation {
            key: key.into(),
            value: serde_json::to_value(value).unwrap_or(Value::Null),
            actor: Actor::default(),
            payload: None,
            idempotency_key: None,
            emit_event: false,
        }
    }

    /// Sets the actor kind.
    #[must_use]
    pub fn actor_kind(mut self, kind: impl Into<String>) -> Self {
        self.actor.kind = Some(kind.into());
        self
    }

    /// Sets the actor id.
    #[must_use]
    pub fn actor_id(mut self, id: impl Into<String>) -> Self {
        self.actor.id = Some(id.into());
        self
    }

    /// Sets the actor version.
    #[must_use]
    pub fn actor_version(mut self, version: impl Into<String>) -> Self {
        self.actor.version = Some(version.into());
        self
    }

    /// Attaches a payload.
    #[must_use]
    pub fn payload(mut self, payload: impl Serialize) -> Self {
        self.payload = serde_json::to_value(payload).ok().filter(|v| !v.is_null());
        self
    }

    /// Sets the idempotency key.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Requests an `annotation:created` event.
    #[must_use]
    pub fn emit_event(mut self) -> Self {
        self.emit_event = true;
        self
    }
}

/// Everything a stage recorded during one execution.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recorded {
    /// Logs not already handed to a log writer.
    pub logs: Vec<LogEntry>,
    /// Progress updates, in order.
    pub progress: Vec<ProgressUpdate>,
    /// Annotations, in order (null values already skipped).
    pub annotations: Vec<Annotation>,
    /// Custom metrics; `totalCost` and `totalTokens` feed the run's totals.
    pub metrics: Map<String, Value>,
    /// Named artifacts, stored next to the output.
    pub artifacts: Vec<(String, Value)>,
}

/// Receives each log entry as it is made (the engine writes it to `workflow_logs` right away).
pub(crate) type LogWriter = Arc<dyn Fn(&LogEntry) + Send + Sync>;

/// Collects what a stage records; shared between the context and the engine.
#[derive(Default)]
pub struct Recorder {
    recorded: Arc<Mutex<Recorded>>,
    log_writer: Option<LogWriter>,
}

/// Adds AI usage to a stage's `totalCost` / `totalTokens` metrics from outside its context (the AI
/// helper holds one); shares the [`Recorder`]'s metrics.
#[derive(Clone)]
pub(crate) struct UsageMeter(Arc<Mutex<Recorded>>);

impl UsageMeter {
    /// Adds `cost` (USD) and `tokens`.
    pub(crate) fn add(&self, cost: f64, tokens: u64) {
        let mut recorded = lock(&self.0);
        add_to(&mut recorded.metrics, "totalCost", cost);
        add_to(&mut recorded.metrics, "totalTokens", tokens as f64);
    }
}

fn lock(recorded: &Mutex<Recorded>) -> MutexGuard<'_, Recorded> {
    // A panic while holding this lock cannot leave `Recorded` half-updated (every update is one push).
    recorded
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Adds `amount` to the number at `key` (missing: 0), keeping whole numbers integers.
fn add_to(metrics: &mut Map<String, Value>, key: &str, amount: f64) {
    let current = metrics.get(key).and_then(Value::as_f64).unwrap_or(0.0);
    let total = current + amount;
    let value = if total.fract() == 0.0 && total.abs() < 9.0e15 {
        Value::from(total as i64)
    } else {
        serde_json::Number::from_f64(total).map_or(Value::Null, Value::Number)
    };
    metrics.insert(key.to_owned(), value);
}

impl Recorder {
    /// A recorder that keeps logs in memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder that hands every log entry to `writer` as it is made.
    pub fn with_log_writer(writer: LogWriter) -> Self {
        Recorder {
            recorded: Arc::default(),
            log_writer: Some(writer),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Recorded> {
        lock(&self.recorded)
    }

    /// A handle that adds AI usage to these metrics.
    pub(crate) fn usage_meter(&self) -> UsageMeter {
        UsageMeter(self.recorded.clone())
    }

    pub(crate) fn log(&self, entry: LogEntry) {
        match &self.log_writer {
            Some(writer) => writer(&entry),
            None => self.lock().logs.push(entry),
        }
    }

    pub(crate) fn progress(&self, update: ProgressUpdate) {
        self.lock().progress.push(update);
    }

    pub(crate) fn annotate(&self, annotation: Annotation) {
        if !annotation.value.is_null() {
            self.lock().annotations.push(annotation);
        }
    }

    pub(crate) fn set_metric(&self, key: String, value: Value) {
        self.lock().metrics.insert(key, value);
    }

    pub(crate) fn artifact(&self, name: String, value: Value) {
        self.lock().artifacts.push((name, value));
    }

    /// Takes everything recorded so far, leaving the recorder empty.
    pub fn take(&self) -> Recorded {
        std::mem::take(&mut *self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_round_trip_as_text() {
        for level in [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
        ] {
            assert_eq!(LogLevel::parse(level.as_str()), Some(level));
            assert_eq!(serde_json::to_value(level).unwrap(), level.as_str());
        }
        assert_eq!(LogLevel::parse("warning"), Some(LogLevel::Warn));
        assert_eq!(LogLevel::parse("loud"), None);
    }

    #[test]
    fn usage_metrics_add_up_and_null_annotations_are_skipped() {
        let recorder = Recorder::new();
        recorder.usage_meter().add(0.5, 100);
        recorder.usage_meter().add(0.25, 20);
        recorder.annotate(Annotation::new("skipped", Option::<u8>::None));
        recorder.annotate(Annotation::new("kept", 1));
        let recorded = recorder.take();
        assert_eq!(recorded.metrics["totalCost"], 0.75);
        assert_eq!(recorded.metrics["totalTokens"], 120);
        assert_eq!(recorded.annotations.len(), 1);
        assert_eq!(recorder.take(), Recorded::default());
    }

    #[test]
    fn a_log_writer_receives_logs_immediately() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let recorder = Recorder::with_log_writer(Arc::new(move |entry: &LogEntry| {
            sink.lock().unwrap().push(entry.message.clone());
        }));
        recorder.log(LogEntry {
            level: LogLevel::Info,
            message: "hello".into(),
            fields: None,
        });
        assert_eq!(*seen.lock().unwrap(), ["hello"]);
        assert!(recorder.take().logs.is_empty());
    }
}
