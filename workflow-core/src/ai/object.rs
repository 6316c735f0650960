//! Structured output: the JSON Schema sent for a Rust type, and the reply checked by deserializing it.

use super::error::AiError;
use super::provider::OutputSchema;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// `T`'s JSON Schema, named after the type (characters providers refuse in names become `_`).
pub(crate) fn output_schema<T: JsonSchema>() -> OutputSchema {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default();
    if let Some(map) = schema.as_object_mut() {
        map.remove("$schema");
    }
    let name = T::schema_name()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    OutputSchema { name, schema }
}

/// Deserializes a model's reply into `T`. Code fences around the JSON (as local models add) are removed
/// first; a mismatch names the path of the field at fault.
pub(crate) fn parse_object<T: DeserializeOwned>(model: &str, reply: &str) -> Result<T, AiError> {
    let json = strip_fences(reply);
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        AiError::InvalidObject {
            model: model.to_owned(),
            type_name: std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("value")
                .to_owned(),
            path,
            detail: error.into_inner().to_string(),
            reply: reply.to_owned(),
        }
    })
}

fn strip_fences(reply: &str) -> &str {
    let trimmed = reply.trim();
    let Some(rest) = trimmed.strip_prefix("```") else {
        return trimmed;
    };
    let body = rest.split_once('\n').map_or("", |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    struct Invoice {
        number: String,
        lines: Vec<Line>,
    }

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    struct Line {
        cents: u64,
    }

    #[test]
    fn a_mismatch_names_the_field_and_fences_are_removed() {
        let error =
            parse_object::<Invoice>("m", r#"{"number":"7","lines":[{"cents":1},{"cents":"x"}]}"#)
                .unwrap_err();
        let AiError::InvalidObject {
            path, type_name, ..
        } = &error
        else {
            panic!("{error}")
        };
        assert_eq!(path, "lines[1].cents");
        assert_eq!(type_name, "Invoice");
        assert!(error.to_string().contains("at `lines[1].cents`"), "{error}");

        let fenced = "```json\n{\"number\":\"7\",\"lines\":[]}\n```";
        assert_eq!(parse_object::<Invoice>("m", fenced).unwrap().number, "7");
        let missing = parse_object::<Invoice>("m", r#"{"lines":[]}"#).unwrap_err();
        assert!(
            missing.to_string().contains("missing field `number`"),
            "{missing}"
        );
    }

    #[test]
    fn the_schema_is_named_after_the_type_without_the_meta_schema() {
        let schema = output_schema::<Invoice>();
        assert_eq!(schema.name, "Invoice");
        assert!(schema.schema.get("$schema").is_none());
        assert_eq!(schema.schema["properties"]["number"]["type"], "string");
    }
}
