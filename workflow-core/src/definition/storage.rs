//! [`StageStorage`]: `ctx.storage()`, a stage's access to the blob store.

use super::error::StageError;
use super::outputs::decode_json;
use crate::ports::blob::{BlobStore, keys};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Blob storage as a stage sees it. Keys are raw (not prefixed); [`stage_key`](Self::stage_key) builds the
/// conventional per-stage keys.
#[derive(Clone)]
pub struct StageStorage {
    store: Arc<dyn BlobStore>,
    workflow_type: String,
    run_id: String,
}

impl StageStorage {
    /// Storage over `store` for one run.
    pub fn new(
        store: Arc<dyn BlobStore>,
        workflow_type: impl Into<String>,
        run_id: impl Into<String>,
    ) -> Self {
        StageStorage {
            store,
            workflow_type: workflow_type.into(),
            run_id: run_id.into(),
        }
    }

    /// Saves `value` as JSON under `key`.
    pub async fn save<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), StageError> {
        let json = serde_json::to_value(value).map_err(|e| {
            StageError::fatal(format!("cannot store {key}: the value is not JSON: {e}"))
        })?;
        self.store
            .put(key, &json)
            .await
            .map_err(|e| StageError::new(format!("cannot store {key}: {e}")))
    }

    /// Loads the value under `key` as `T`; a missing key is the error `Blob not found: <key>`.
    pub async fn load<T: DeserializeOwned>(&self, key: &str) -> Result<T, StageError> {
        let value = self
            .store
            .get(key)
            .await
            .map_err(|e| StageError::new(format!("cannot load {key}: {e}")))?
            .ok_or_else(|| StageError::fatal(format!("Blob not found: {key}")))?;
        decode_json(&value).map_err(|detail| {
            StageError::fatal(format!(
                "blob {key} does not match the expected type: {detail}"
            ))
        })
    }

    /// Whether `key` holds a value.
    pub async fn exists(&self, key: &str) -> Result<bool, StageError> {
        self.store
            .has(key)
            .await
            .map_err(|e| StageError::new(format!("cannot check {key}: {e}")))
    }

    /// Deletes `key`; a missing key is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StageError> {
        self.store
            .delete(key)
            .await
            .map_err(|e| StageError::new(format!("cannot delete {key}: {e}")))
    }

    /// `workflow-v2/<workflowType>/<runId>/<stageId>/<suffix or "output.json">`.
    pub fn stage_key(&self, stage_id: &str, suffix: Option<&str>) -> String {
        keys::stage_key(&self.workflow_type, &self.run_id, stage_id, suffix)
    }

    /// The underlying blob store.
    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.store
    }
}

impl std::fmt::Debug for StageStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StageStorage")
            .field("workflow_type", &self.workflow_type)
            .field("run_id", &self.run_id)
            .finish()
    }
}
