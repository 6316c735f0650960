//! The [`BlobStore`] port: JSON values under string keys (stage outputs, artifacts, stage storage).

use super::error::StoreError;
use super::store::Store;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;

/// Stores JSON values under keys such as `workflow-v2/<workflowType>/<runId>/<stageId>/output.json`.
///
/// Unlike the TypeScript engine, whose implementations disagree on a missing key (in-memory throws, S3
/// returns `undefined`), every implementation here returns `Ok(None)` from [`get`](BlobStore::get).
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `value` under `key`, replacing any previous value.
    async fn put(&self, key: &str, value: &Value) -> Result<(), StoreError>;
    /// The value under `key`, or `None`.
    async fn get(&self, key: &str) -> Result<Option<Value>, StoreError>;
    /// Whether `key` holds a value.
    async fn has(&self, key: &str) -> Result<bool, StoreError>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key that starts with `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Removes every key under `prefix`; returns how many were removed.
    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        let keys = self.list(prefix).await?;
        for key in &keys {
            self.delete(key).await?;
        }
        Ok(keys.len())
    }
}

/// The blobs of a [`Store`] (the `workflow_artifacts` table on the SQL stores) as a [`BlobStore`]: every
/// call is one autocommit operation.
#[derive(Clone)]
pub struct StoreBlobs(pub Arc<dyn Store>);

impl std::fmt::Debug for StoreBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreBlobs({})", self.0.kind())
    }
}

#[async_trait]
impl BlobStore for StoreBlobs {
    async fn put(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        if let Some(path) = crate::kernel::nul_path("value", value)
            .or_else(|| key.contains('\0').then(|| "the key".to_owned()))
        {
            return Err(StoreError::InvalidValue {
                what: format!("blob {key:?}"),
                reason: format!(
                    "{path} contains a NUL byte (U+0000), which PostgreSQL cannot store"
                ),
            });
        }
        let now = crate::time::truncate_ms(chrono::Utc::now());
        self.0
            .executor()
            .await?
            .put_blobs(vec![(key.to_owned(), value.clone())], now)
            .await
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        let keys = [key.to_owned()];
        Ok(self.0.executor().await?.get_blobs(&keys).await?.remove(key))
    }

    async fn has(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key).await?.is_some())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.executor().await?.delete_blob(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.0.executor().await?.list_blobs(prefix).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize, StoreError> {
        self.0.executor().await?.delete_blob_prefix(prefix).await
    }
}

/// The blob key layout of the TypeScript engine (reference §7.1).
pub mod keys {
    /// `workflow-v2/<workflowType>/<runId>/<stageId>/`: everything a stage stored.
    pub fn stage_prefix(workflow_type: &str, run_id: &str, stage_id: &str) -> String {
        format!("workflow-v2/{workflow_type}/{run_id}/{stage_id}/")
    }

    /// `workflow-v2/<workflowType>/<runId>/<stageId>/<suffix>`; the suffix defaults to `output.json`.
    pub fn stage_key(
        workflow_type: &str,
        run_id: &str,
        stage_id: &str,
        suffix: Option<&str>,
    ) -> String {
        format!(
            "{}{}",
            stage_prefix(workflow_type, run_id, stage_id),
            suffix.unwrap_or("output.json")
        )
    }

    /// The folder of one delivery of a stage's job inside the stage folder: none for the first delivery
    /// (the reference layout), `attempt-<n>/` for redeliveries, so that a worker that lost its lease cannot
    /// overwrite the blobs its successor wrote.
    fn delivery_folder(delivery: Option<i32>) -> String {
        delivery
            .filter(|attempt| *attempt > 1)
            .map(|attempt| format!("attempt-{attempt}/"))
            .unwrap_or_default()
    }

    /// Where a stage's output is stored: `…/<stageId>/output.json` (or `…/<stageId>/attempt-<n>/output.json`
    /// for a redelivered job).
    pub fn output_key(
        workflow_type: &str,
        run_id: &str,
        stage_id: &str,
        delivery: Option<i32>,
    ) -> String {
        let suffix = format!("{}output.json", delivery_folder(delivery));
        stage_key(workflow_type, run_id, stage_id, Some(&suffix))
    }

    /// `…/<stageId>/artifacts/<encodeURIComponent(name)>.json` (under `attempt-<n>/` for a redelivered job).
    pub fn artifact_key(
        workflow_type: &str,
        run_id: &str,
        stage_id: &str,
        name: &str,
        delivery: Option<i32>,
    ) -> String {
        let suffix = format!(
            "{}artifacts/{}.json",
            delivery_folder(delivery),
            encode_uri_component(name)
        );
        stage_key(workflow_type, run_id, stage_id, Some(&suffix))
    }

    /// JavaScript's `encodeURIComponent`: percent-encodes UTF-8 bytes except `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
    pub fn encode_uri_component(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn key_layout_matches_the_typescript_engine() {
            assert_eq!(
                stage_key("doc", "r1", "extract", None),
                "workflow-v2/doc/r1/extract/output.json"
            );
            assert_eq!(
                stage_key("doc", "r1", "extract", Some("x.json")),
                "workflow-v2/doc/r1/extract/x.json"
            );
            assert_eq!(
                artifact_key("doc", "r1", "extract", "raw text/é", None),
                "workflow-v2/doc/r1/extract/artifacts/raw%20text%2F%C3%A9.json"
            );
            assert_eq!(
                output_key("doc", "r1", "s", Some(1)),
                "workflow-v2/doc/r1/s/output.json"
            );
            assert_eq!(
                output_key("doc", "r1", "s", Some(3)),
                "workflow-v2/doc/r1/s/attempt-3/output.json"
            );
            assert_eq!(
                artifact_key("doc", "r1", "s", "a", Some(2)),
                "workflow-v2/doc/r1/s/attempt-2/artifacts/a.json"
            );
            assert_eq!(
                encode_uri_component("a-b_c.d!e~f*g'h(i)"),
                "a-b_c.d!e~f*g'h(i)"
            );
        }
    }
}
