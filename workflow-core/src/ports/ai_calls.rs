//! The [`AiCallLog`] port: the `ai_calls` table, where every AI model call is recorded with its tokens and
//! cost.

use super::error::StoreError;
use super::records::AiCallRecord;
use async_trait::async_trait;

/// Where AI calls are logged and read back.
#[async_trait]
pub trait AiCallLog: Send + Sync {
    /// Inserts a call row (its id and `createdAt` are set by the caller, as Prisma Client sets them);
    /// returns its id.
    async fn log_ai_call(&self, call: AiCallRecord) -> Result<String, StoreError>;
    /// Calls whose topic starts with `topic_prefix`, oldest first.
    async fn ai_calls_by_topic(&self, topic_prefix: &str) -> Result<Vec<AiCallRecord>, StoreError>;
}
