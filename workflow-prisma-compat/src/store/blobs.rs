//! [`BlobStore`] for [`SqlStore`] on the `workflow_artifacts` table, so an embedded deployment keeps
//! everything in one database. Keys must follow the `workflow-v2/<workflowType>/<runId>/...` layout
//! (the table keys blobs by run); a run's blobs are deleted with it.

use super::{Flavor, SqlStore};
use crate::ops::artifacts;
use crate::sql::SqlConn;
use async_trait::async_trait;
use serde_json::Value;
use workflow_core::ports::{BlobStore, StoreError};

#[async_trait]
impl<DB: Flavor> BlobStore for SqlStore<DB>
where
    DB::Connection: SqlConn,
{
    async fn put(&self, key: &str, value: &Value) -> Result<(), StoreError> {
        let now = workflow_core::time::truncate_ms(chrono::Utc::now());
        artifacts::put(&mut *self.connection().await?, key, value, now).await
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, StoreError> {
        artifacts::get(&mut *self.connection().await?, key).await
    }

    async fn has(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key).await?.is_some())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        artifacts::delete(&mut *self.connection().await?, key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        artifacts::list(&mut *self.connection().await?, prefix).await
    }
}
