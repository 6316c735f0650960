//! [`StageOutputs`]: the outputs of the stages that completed earlier in a run (the "workflow context"),
//! decoded into their Rust types on first access and cached.

use super::error::StageError;
use super::stage::Stage;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::OnceLock;

struct Slot {
    raw: Value,
    typed: OnceLock<Box<dyn Any + Send + Sync>>,
}

/// The outputs of earlier stages of a run, keyed by stage id.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::StageOutputs;
///
/// #[stage]
/// async fn count(input: String) -> Result<usize, StageError> { Ok(input.len()) }
///
/// let outputs = StageOutputs::new().with::<count>(&3);
/// assert_eq!(outputs.decode::<count>("reader").unwrap(), Some(&3));
/// assert_eq!(outputs.stage_ids().collect::<Vec<_>>(), ["count"]);
/// ```
#[derive(Default)]
pub struct StageOutputs {
    slots: BTreeMap<String, Slot>,
}

impl StageOutputs {
    /// No outputs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the raw JSON output of stage `stage_id`.
    pub fn insert(&mut self, stage_id: impl Into<String>, output: Value) {
        self.slots.insert(
            stage_id.into(),
            Slot {
                raw: output,
                typed: OnceLock::new(),
            },
        );
    }

    /// Adds the typed output of stage `S` (for tests and examples).
    ///
    /// # Panics
    /// If the output cannot be serialized to JSON.
    #[must_use]
    pub fn with<S: Stage>(mut self, output: &S::Output) -> Self {
        let raw = serde_json::to_value(output).unwrap_or_else(|e| {
            panic!(
                "the output given for stage {} cannot be serialized: {e}",
                S::ID
            )
        });
        self.insert(S::ID, raw);
        self
    }

    /// The ids of the stages with an output, sorted.
    pub fn stage_ids(&self) -> impl Iterator<Item = &str> {
        self.slots.keys().map(String::as_str)
    }

    /// The raw JSON output of a stage.
    pub fn raw(&self, stage_id: &str) -> Option<&Value> {
        self.slots.get(stage_id).map(|slot| &slot.raw)
    }

    /// Whether there is no output at all.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Stage `S`'s output decoded as `S::Output`; `Ok(None)` if `S` has no output here. `reader` (the stage
    /// that reads) is named in the error when the stored JSON does not match the type.
    pub fn decode<S: Stage>(&self, reader: &str) -> Result<Option<&S::Output>, StageError> {
        let Some(slot) = self.slots.get(S::ID) else {
            return Ok(None);
        };
        if slot.typed.get().is_none() {
            let value: S::Output = decode_json(&slot.raw).map_err(|detail| {
                StageError::fatal(format!(
                    "stage {reader} could not read the output of stage {}: {detail}",
                    S::ID
                ))
                .with_name("OutputDecodeError")
            })?;
            // Another thread may have won the race; either value is equal.
            let _ = slot.typed.set(Box::new(value));
        }
        let typed = slot.typed.get().expect("set above");
        typed.downcast_ref::<S::Output>().map(Some).ok_or_else(|| {
            StageError::fatal(format!(
                "stage {reader} read the output of stage {} as two different types",
                S::ID
            ))
        })
    }

    /// Like [`decode`](Self::decode), but a missing output is an error naming the available stages (the
    /// TypeScript engine's `Missing required stage output` message).
    pub fn require<S: Stage>(&self, reader: &str) -> Result<&S::Output, StageError> {
        self.decode::<S>(reader)?.ok_or_else(|| {
            let available = if self.slots.is_empty() {
                "(none)".to_owned()
            } else {
                self.stage_ids().collect::<Vec<_>>().join(", ")
            };
            StageError::fatal(format!(
                "Missing required stage output: \"{}\". Available stages: {available}",
                S::ID
            ))
        })
    }
}

impl std::fmt::Debug for StageOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.slots.iter().map(|(id, slot)| (id, &slot.raw)))
            .finish()
    }
}

/// Decodes JSON into `T`, describing a failure with the field path (``at `items[2].name`: ...``).
pub(crate) fn decode_json<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        if path == "." {
            error.inner().to_string()
        } else {
            format!("at `{path}`: {}", error.inner())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
    struct Words {
        count: usize,
        items: Vec<String>,
    }

    #[stage]
    async fn words() -> Result<Words, StageError> {
        Ok(Words {
            count: 0,
            items: vec![],
        })
    }

    #[test]
    fn decodes_once_and_returns_the_same_reference() {
        let mut outputs = StageOutputs::new();
        outputs.insert("words", json!({"count": 2, "items": ["a", "b"]}));
        let first = outputs.require::<words>("reader").unwrap();
        let second = outputs.require::<words>("reader").unwrap();
        assert!(std::ptr::eq(first, second));
        assert_eq!(first.items, ["a", "b"]);
    }

    #[test]
    fn a_mismatching_output_names_reader_stage_and_field_path() {
        let mut outputs = StageOutputs::new();
        outputs.insert("words", json!({"count": 2, "items": ["a", 5]}));
        let error = outputs.require::<words>("summarize").unwrap_err();
        assert_eq!(
            error.message(),
            "stage summarize could not read the output of stage words: at `items[1]`: invalid type: integer `5`, expected a string"
        );
        assert!(!error.is_retryable());
    }

    #[test]
    fn a_missing_output_lists_the_available_stages() {
        let empty = StageOutputs::new();
        assert_eq!(
            empty.require::<words>("r").unwrap_err().message(),
            "Missing required stage output: \"words\". Available stages: (none)"
        );
        let mut outputs = StageOutputs::new();
        outputs.insert("b", json!(1));
        outputs.insert("a", json!(1));
        assert_eq!(
            outputs.require::<words>("r").unwrap_err().message(),
            "Missing required stage output: \"words\". Available stages: a, b"
        );
        assert_eq!(outputs.decode::<words>("r").unwrap(), None);
    }
}
