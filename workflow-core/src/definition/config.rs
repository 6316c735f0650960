//! Run-config validation: a run config is a JSON object keyed by stage id; each entry must decode as that
//! stage's config type.

use super::dyn_stage::StageHandle;
use serde_json::{Map, Value};
use std::fmt;

/// One stage's config problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The stage id the entry belongs to (or the unknown key).
    pub stage_id: String,
    /// What is wrong, with the field path (`at `max_length`: invalid type: ...`).
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: Config validation failed: {}",
            self.stage_id, self.message
        )
    }
}

/// Every config problem of a run config, in stage order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(", "))
    }
}

impl std::error::Error for ConfigErrors {}

/// Validates `config` against every stage; collects every problem of every stage's entry (each field that
/// does not decode, each key its config type does not have), and one error per key that names no stage.
/// A config type that should accept unknown keys keeps them in a `#[serde(flatten)]` map field.
pub(crate) fn validate(stages: &[&StageHandle], config: &Value) -> Result<(), ConfigErrors> {
    let empty = Map::new();
    let entries = match config {
        Value::Object(map) => map,
        Value::Null => &empty,
        other => {
            return Err(ConfigErrors(vec![ConfigError {
                stage_id: "(root)".into(),
                message: format!(
                    "a run config is a JSON object keyed by stage id, not {}",
                    json_kind(other)
                ),
            }]));
        }
    };
    let mut errors = Vec::new();
    for stage in stages {
        let entry = entries.get(stage.id()).unwrap_or(&Value::Null);
        let entry = if entry.is_null() {
            Value::Object(Map::new())
        } else {
            entry.clone()
        };
        for message in super::config_check::problems(stage, &entry) {
            errors.push(ConfigError {
                stage_id: stage.id().to_owned(),
                message,
            });
        }
    }
    for key in entries.keys() {
        if !stages.iter().any(|stage| stage.id() == key) {
            let known: Vec<&str> = stages.iter().map(|s| s.id()).collect();
            errors.push(ConfigError {
                stage_id: key.clone(),
                message: format!(
                    "no stage has this id (the workflow's stages are {})",
                    known.join(", ")
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(errors))
    }
}

/// "an array", "a string", ... for messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
