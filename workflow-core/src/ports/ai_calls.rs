//! The [`AiCallLog`] port: the `ai_calls` table, where every AI model call is recorded with its tokens and
//! cost.

use super::error::StoreError;
use super::records::AiCallRecord;
use crate::ai::AiUsage;
use async_trait::async_trait;

/// Where AI calls are logged and read back.
#[async_trait]
pub trait AiCallLog: Send + Sync {
    /// Inserts a call row (its id and `createdAt` are set by the caller, as Prisma Client sets them);
    /// returns its id.
    async fn log_ai_call(&self, call: AiCallRecord) -> Result<String, StoreError>;
    /// Calls whose topic starts with `topic_prefix`, oldest first.
    async fn ai_calls_by_topic(&self, topic_prefix: &str) -> Result<Vec<AiCallRecord>, StoreError>;

    /// The count and sums of the calls whose topic starts with `topic_prefix`. The default adds up
    /// [`ai_calls_by_topic`](Self::ai_calls_by_topic); the SQL stores aggregate in the database.
    async fn ai_usage_by_topic(&self, topic_prefix: &str) -> Result<AiUsage, StoreError> {
        let calls = self.ai_calls_by_topic(topic_prefix).await?;
        Ok(AiUsage {
            calls: calls.len(),
            input_tokens: calls.iter().map(|c| c.input_tokens.max(0) as u64).sum(),
            output_tokens: calls.iter().map(|c| c.output_tokens.max(0) as u64).sum(),
            total_cost: calls.iter().map(|c| c.cost).sum(),
        })
    }
}
