//! [`InMemoryBlobStore`].

use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use workflow_core::ports::{BlobStore, StoreError};

/// A [`BlobStore`] in a `BTreeMap`. Values are stored as JSON, so what is read back is what a database
/// would return.
#[derive(Debug, Default)]
pub struct InMemoryBlobStore {
    blobs: Mutex<BTreeMap<String, Value>>,
}

impl InMemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Value>> {
        self.blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every key, sorted (for assertions).
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }
}

#[async_trait]
impl BlobStore for InMemoryBlobStore {
    async fn put(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        self.lock().insert(key.to_owned(), value.clone());
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    async fn has(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.lock().contains_key(key))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .lock()
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect())
    }
}
