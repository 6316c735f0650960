//! Values every backend can store: checked by the kernel before anything is written, so that PostgreSQL,
//! SQLite and the in-memory store refuse the same inputs with the same message.
//!
//! - No NUL byte (U+0000) in any text or JSON string or object key: PostgreSQL cannot store one in `TEXT`
//!   or `JSONB`.
//! - Keys that are part of a unique index (idempotency keys, annotation keys and their idempotency keys)
//!   are at most [`MAX_KEY_BYTES`] bytes: a B-tree index entry must fit in a third of a page.

use super::error::KernelError;
use serde_json::Value;

/// The longest idempotency or annotation key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Where a NUL byte is in `value`, as a path from `root` (`input.items[2].name`), if anywhere.
pub(crate) fn nul_path(root: &str, value: &Value) -> Option<String> {
    fn walk(path: &mut String, value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(path, item);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(map) => map.iter().any(|(key, item)| {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                let found = key.contains('\0') || walk(path, item);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = root.to_owned();
    walk(&mut path, value).then_some(path)
}

/// The message for a NUL byte at `path`.
pub(crate) fn nul_message(path: &str) -> String {
    format!("{path} contains a NUL byte (U+0000), which PostgreSQL cannot store")
}

/// Refuses a JSON value with a NUL byte, naming where it is.
pub(crate) fn storable_json(
    command: &'static str,
    root: &str,
    value: &Value,
) -> Result<(), KernelError> {
    match nul_path(root, value) {
        Some(path) => Err(KernelError::InvalidCommand {
            command,
            detail: nul_message(&path),
        }),
        None => Ok(()),
    }
}

/// Refuses a key that is empty, has a NUL byte or is longer than [`MAX_KEY_BYTES`].
pub(crate) fn key(command: &'static str, what: &str, key: &str) -> Result<(), KernelError> {
    let refuse = |detail: String| Err(KernelError::InvalidCommand { command, detail });
    if key.trim().is_empty() {
        return refuse(format!("the {what} is empty"));
    }
    if key.contains('\0') {
        return refuse(nul_message(&format!("the {what}")));
    }
    if key.len() > MAX_KEY_BYTES {
        return refuse(format!(
            "the {what} is {} bytes long; at most {MAX_KEY_BYTES} bytes can be indexed",
            key.len()
        ));
    }
    Ok(())
}

/// Refuses a bad idempotency key of a `command`.
pub(crate) fn idempotency_key(command: &'static str, value: &str) -> Result<(), KernelError> {
    key(command, "idempotency key", value)
}

/// Replaces NUL bytes of free text (log lines, error messages) that must be stored anyway.
pub(crate) fn scrub_text(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}")
    } else {
        text
    }
}

/// Replaces NUL bytes in the strings and keys of a JSON value that must be stored anyway.
pub(crate) fn scrub_json(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(scrub_text(text)),
        Value::Array(items) => Value::Array(items.into_iter().map(scrub_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (scrub_text(k), scrub_json(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_bytes_are_found_with_their_path() {
        let value = json!({ "a": [1, { "b": "x\u{0}y" }], "c": "ok" });
        assert_eq!(nul_path("input", &value).as_deref(), Some("input.a[1].b"));
        assert_eq!(
            nul_path("input", &json!({ "k\u{0}": 1 })).as_deref(),
            Some("input.k\u{0}")
        );
        assert_eq!(nul_path("input", &json!({ "a": ["x"] })), None);
        assert_eq!(
            nul_path("config", &json!("\u{0}")).as_deref(),
            Some("config")
        );
    }

    #[test]
    fn keys_are_checked_for_emptiness_nul_and_length() {
        assert!(key("run.create", "idempotency key", "k-1").is_ok());
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        let message = key("run.create", "idempotency key", &long)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("1025 bytes long; at most 1024"),
            "{message}"
        );
        let nul = key("run.create", "idempotency key", "a\u{0}")
            .unwrap_err()
            .to_string();
        assert!(
            nul.contains("the idempotency key contains a NUL byte"),
            "{nul}"
        );
        assert!(key("run.create", "idempotency key", " ").is_err());
    }

    #[test]
    fn free_text_is_scrubbed() {
        assert_eq!(scrub_text("a\u{0}b".into()), "a\u{FFFD}b");
        assert_eq!(
            scrub_json(json!({"k\u{0}": ["\u{0}"]})),
            json!({"k\u{FFFD}": ["\u{FFFD}"]})
        );
    }
}
