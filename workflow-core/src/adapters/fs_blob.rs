//! [`FsBlobStore`]: blobs as JSON files under a root directory.

use crate::ports::{BlobStore, StoreError};
use async_trait::async_trait;
use serde_json::Value;
use std::path::{Path, PathBuf};

const SUFFIX: &str = ".blob";

/// Stores each key as the file `<root>/<key>.blob` (the suffix keeps a key and its "children" apart:
/// `a` and `a/b` can both exist). Writes go to a temporary file that is renamed into place, so a reader
/// never sees half a blob. Keys with empty, `.` or `..` segments, backslashes or NUL are refused.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use workflow_core::adapters::FsBlobStore;
/// use workflow_core::ports::BlobStore;
///
/// let dir = std::env::temp_dir().join(format!("fs-blob-doc-{}", std::process::id()));
/// let store = FsBlobStore::new(&dir);
/// store.put("workflow-v2/doc/r1/extract/output.json", &serde_json::json!({ "words": 3 })).await.unwrap();
/// assert_eq!(store.list("workflow-v2/doc/r1/").await.unwrap(), ["workflow-v2/doc/r1/extract/output.json"]);
/// assert!(store.put("../escape", &serde_json::json!(1)).await.is_err());
/// # std::fs::remove_dir_all(dir).unwrap();
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsBlobStore { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        let invalid = |why: &str| StoreError::InvalidValue {
            what: format!("blob key {key:?}"),
            reason: why.to_owned(),
        };
        if key.is_empty() {
            return Err(invalid("is empty"));
        }
        if key.contains('\\') || key.contains('\0') {
            return Err(invalid("contains a backslash or NUL"));
        }
        let mut path = self.root.clone();
        for segment in key.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(invalid("has an empty, `.` or `..` segment"));
            }
            path.push(segment);
        }
        let file = format!(
            "{}{SUFFIX}",
            path.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
        );
        path.set_file_name(file);
        Ok(path)
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |error| StoreError::backend(context, error)
}

/// Every `.blob` file under `dir`, as keys relative to `root`.
fn walk(root: &Path, dir: &Path, keys: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, keys)?;
        } else if let Some(relative) = path.strip_prefix(root).ok().and_then(|p| p.to_str())
            && let Some(key) = relative.strip_suffix(SUFFIX)
        {
            keys.push(key.replace(std::path::MAIN_SEPARATOR, "/"));
        }
    }
    Ok(())
}

/// Runs blocking file I/O on tokio's blocking pool (what `tokio::fs` does, without its feature).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::backend("blob file I/O", e))?
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        let path = self.path(key)?;
        let text = value.to_string();
        blocking(move || {
            let dir = path.parent().expect("a blob path has a parent");
            std::fs::create_dir_all(dir).map_err(io(format!("create {}", dir.display())))?;
            let temp = dir.join(format!(".{}.tmp", crate::ids::uuid()));
            std::fs::write(&temp, text).map_err(io(format!("write {}", temp.display())))?;
            std::fs::rename(&temp, &path).map_err(io(format!("move a blob to {}", path.display())))
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let path = self.path(key)?;
        let key = key.to_owned();
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                StoreError::backend(
                    format!("read blob {key}"),
                    format!("{} holds malformed JSON: {e}", path.display()),
                )
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(StoreError::backend(
                format!("read {}", path.display()),
                error,
            )),
        })
        .await
    }

    async fn has(&self, key: &str) -> Result<bool, StoreError> {
        let path = self.path(key)?;
        blocking(move || Ok(std::fs::exists(&path).unwrap_or(false))).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(StoreError::backend(
                format!("delete {}", path.display()),
                error,
            )),
            _ => Ok(()),
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        let keys = tokio::task::spawn_blocking(move || {
            let mut keys = Vec::new();
            walk(&root, &root, &mut keys).map(|()| keys)
        })
        .await
        .map_err(|e| StoreError::backend("list blobs", e.to_string()))?
        .map_err(io(format!("list blobs under {}", self.root.display())))?;
        let mut keys: Vec<String> = keys
            .into_iter()
            .filter(|key| key.starts_with(&prefix))
            .collect();
        keys.sort();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn blobs_round_trip_and_keys_nest() {
        let dir = std::env::temp_dir().join(format!("fs-blob-test-{}", crate::ids::uuid()));
        let store = FsBlobStore::new(&dir);
        store.put("a", &json!(1)).await.unwrap();
        store.put("a/b", &json!({ "x": [1, 2] })).await.unwrap();
        store.put("a/b", &json!({ "x": [3] })).await.unwrap();
        assert_eq!(store.get("a").await.unwrap(), Some(json!(1)));
        assert_eq!(store.get("a/b").await.unwrap(), Some(json!({ "x": [3] })));
        assert_eq!(store.get("missing").await.unwrap(), None);
        assert!(store.has("a/b").await.unwrap() && !store.has("a/c").await.unwrap());
        assert_eq!(store.list("a").await.unwrap(), ["a", "a/b"]);
        assert_eq!(store.delete_prefix("a/").await.unwrap(), 1);
        store.delete("a/b").await.unwrap();
        assert_eq!(store.list("").await.unwrap(), ["a"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn unsafe_keys_are_refused() {
        let store = FsBlobStore::new(std::env::temp_dir().join("never-created"));
        for key in ["", "../x", "a//b", "a/./b", "a\\b", "/abs"] {
            let error = store.put(key, &json!(1)).await.unwrap_err();
            assert!(
                matches!(&error, StoreError::InvalidValue { what, .. } if what.starts_with("blob key")),
                "{key}: {error}"
            );
        }
        assert!(!store.root().exists());
    }
}
