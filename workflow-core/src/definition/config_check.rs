//! Every problem of one stage's config entry, not only serde's first: keys the config type does not have
//! (found by walking the entry along the config's JSON Schema, since serde ignores them silently), then
//! every field that does not decode (decoding again after each one with that field set to its default).

use super::dyn_stage::StageHandle;
use serde_json::{Map, Value};

/// At most this many field errors are collected per stage (each costs one decode).
const MAX_FIELD_ERRORS: usize = 32;

/// The problems of `entry` (the stage's config object), each `at `path`: what` or a root-level message.
pub(crate) fn problems(stage: &StageHandle, entry: &Value) -> Vec<String> {
    let mut found = Vec::new();
    // An empty entry (the common case: no config given) has no keys to check; the schema is built only
    // when there are.
    if entry.as_object().is_some_and(|keys| !keys.is_empty()) {
        let schema = stage.schemas().config;
        unknown_keys(schema.as_value(), schema.as_value(), entry, "", &mut found);
    }
    let Err(first) = stage.parse_config(entry) else {
        return found;
    };
    let mut entry = entry.clone();
    let defaults = stage.default_config();
    let mut next = Some(first);
    while found.len() < MAX_FIELD_ERRORS + 1 {
        let message = match next.take() {
            Some(message) => message,
            None => match stage.parse_config(&entry) {
                Ok(_) => break,
                Err(message) => message,
            },
        };
        let path = field_path(&message).map(str::to_owned);
        let repeated = found.contains(&message);
        if !repeated && !is_consequence(&message, &found) {
            found.push(message);
        }
        // Set the field to its default (or drop it) and decode again, unless the error cannot be undone.
        match path {
            Some(path)
                if !repeated && replace_with_default(&mut entry, &path, defaults.as_ref()) => {}
            _ => break,
        }
    }
    found
}

/// `missing field `x`` right after `x` itself was reported (and then dropped) is not a second problem.
fn is_consequence(message: &str, found: &[String]) -> bool {
    let Some(field) = message
        .split_once("missing field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field)
    else {
        return false;
    };
    found.iter().any(|earlier| {
        field_path(earlier)
            .is_some_and(|path| path == field || path.ends_with(&format!(".{field}")))
    })
}

/// The field path of a decode error as `decode_json` writes it (`at `path`: what`).
fn field_path(message: &str) -> Option<&str> {
    message
        .strip_prefix("at `")
        .and_then(|rest| rest.split_once("`: "))
        .map(|(path, _)| path)
}

/// Sets `path` (dot-separated object keys) in `entry` to its value in `defaults`, or removes it; `false` if
/// the path does not name an object member of `entry`.
fn replace_with_default(entry: &mut Value, path: &str, defaults: Option<&Value>) -> bool {
    if path.contains('[') {
        return false;
    }
    let keys: Vec<&str> = path.split('.').collect();
    let (last, parents) = keys.split_last().expect("split yields one part");
    let default = defaults
        .and_then(|defaults| keys.iter().try_fold(defaults, |value, key| value.get(key)))
        .cloned();
    let mut target = entry;
    for key in parents {
        match target.get_mut(*key) {
            Some(next) => target = next,
            None => return false,
        }
    }
    let Some(object) = target.as_object_mut() else {
        return false;
    };
    match default {
        Some(default) => object.insert((*last).to_owned(), default).is_some(),
        None => object.remove(*last).is_some(),
    }
}

/// Appends `at `path`: unknown field, expected one of ...` for every key of an object in `value` that the
/// schema's `properties` do not list. Only closed object schemas are checked: maps and types that keep
/// extra keys (`additionalProperties` true or a schema, e.g. a `#[serde(flatten)]` map field), flattened or
/// untagged types (`allOf` / `anyOf` / `oneOf`) are left to serde.
fn unknown_keys(root: &Value, schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
    let schema = resolve(root, schema);
    let (Some(object), Some(properties)) = (
        value.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) else {
        return;
    };
    let open = ["allOf", "anyOf", "oneOf", "patternProperties"]
        .iter()
        .any(|key| schema.get(key).is_some())
        || schema
            .get("additionalProperties")
            .is_some_and(|extra| extra.is_object() || *extra == Value::Bool(true));
    for (key, member) in object {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match properties.get(key) {
            Some(property) => unknown_keys(root, property, member, &at, found),
            None if !open => found.push(format!(
                "at `{at}`: unknown field, expected {}",
                expected_fields(properties)
            )),
            None => {}
        }
    }
}

fn expected_fields(properties: &Map<String, Value>) -> String {
    let names: Vec<String> = properties.keys().map(|name| format!("`{name}`")).collect();
    match names.len() {
        0 => "no fields".to_owned(),
        1 => names[0].clone(),
        _ => format!("one of {}", names.join(", ")),
    }
}

/// Follows a local `$ref` (`#/$defs/Name`) to the schema it names.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .unwrap_or(schema),
        None => schema,
    }
}
