//! [`AiCallLogger`]: writes model calls to `ai_calls` (the table the TypeScript engine's `AICallLogger`
//! writes) and aggregates usage by topic prefix.

use crate::ports::{AiCallLog, AiCallRecord, Clock, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// The kind of an AI call, stored as text in `ai_calls.callType` (the TypeScript engine's values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AiCallType {
    /// `text`: a text generation.
    #[default]
    Text,
    /// `object`: a structured (JSON) generation.
    Object,
    /// `embed`: embeddings of one or many texts.
    Embed,
    /// `stream`: a streamed text generation.
    Stream,
    /// `batch`: a call of a provider's batch API.
    Batch,
}

impl AiCallType {
    /// Every kind, in declaration order.
    pub const ALL: [AiCallType; 5] = [
        AiCallType::Text,
        AiCallType::Object,
        AiCallType::Embed,
        AiCallType::Stream,
        AiCallType::Batch,
    ];

    /// The stored text: `text`, `object`, `embed`, `stream` or `batch`.
    pub fn as_str(self) -> &'static str {
        match self {
            AiCallType::Text => "text",
            AiCallType::Object => "object",
            AiCallType::Embed => "embed",
            AiCallType::Stream => "stream",
            AiCallType::Batch => "batch",
        }
    }
}

impl std::fmt::Display for AiCallType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AiCallType {
    type Err = String;

    /// Parses the stored text exactly (`text`, `object`, `embed`, `stream`, `batch`).
    fn from_str(text: &str) -> Result<Self, String> {
        AiCallType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown AI call type {text:?} (expected text, object, embed, stream or batch)"
                )
            })
    }
}

/// One model call to record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AiCall {
    /// Dot-separated topic, e.g. `workflow.<runId>.stage.<stageId>`; statistics aggregate by prefix.
    pub topic: String,
    /// What kind of call it was.
    pub call_type: AiCallType,
    /// The model key (`gemini-2.5-flash`).
    pub model_key: String,
    /// The provider's model id.
    pub model_id: String,
    /// The prompt as sent (`ai_calls.prompt`, stored in full).
    pub prompt: String,
    /// The model's reply as received (`ai_calls.response`).
    pub response: String,
    /// Prompt tokens the provider billed.
    pub input_tokens: u32,
    /// Completion tokens the provider billed.
    pub output_tokens: u32,
    /// What the call cost in USD (`ModelSpec::cost` computes it from the tokens).
    pub cost: f64,
    /// Extra data (`status`, `batchId`, ...).
    pub metadata: Option<Value>,
}

/// Usage aggregated over a topic prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiUsage {
    /// Number of `ai_calls` rows under the prefix.
    pub calls: usize,
    /// Sum of their prompt tokens.
    pub input_tokens: u64,
    /// Sum of their completion tokens.
    pub output_tokens: u64,
    /// Total cost in USD.
    pub total_cost: f64,
}

/// Records AI calls in `ai_calls`.
#[derive(Clone)]
pub struct AiCallLogger {
    log: Arc<dyn AiCallLog>,
    clock: Arc<dyn Clock>,
}

impl AiCallLogger {
    /// A logger over `log` (a store's `ai_calls` table), timestamping with `clock`.
    pub fn new(log: Arc<dyn AiCallLog>, clock: Arc<dyn Clock>) -> Self {
        AiCallLogger { log, clock }
    }

    /// Records a call; returns its row id.
    pub async fn log(&self, call: AiCall) -> Result<String, StoreError> {
        let record = AiCallRecord {
            id: crate::ids::cuid(),
            created_at: self.clock.now(),
            topic: call.topic,
            call_type: call.call_type,
            model_key: call.model_key,
            model_id: call.model_id,
            prompt: call.prompt,
            response: call.response,
            input_tokens: call.input_tokens.min(i32::MAX as u32) as i32,
            output_tokens: call.output_tokens.min(i32::MAX as u32) as i32,
            cost: call.cost,
            metadata: call.metadata,
        };
        self.log.log_ai_call(record).await
    }

    /// Records a call without waiting (errors are logged), as the reference's fire-and-forget `logCall`.
    pub fn log_detached(&self, call: AiCall) {
        let logger = self.clone();
        let log = async move {
            if let Err(error) = logger.log(call).await {
                tracing::warn!(%error, "could not record an AI call");
            }
        };
        tokio::spawn(tracing::Instrument::in_current_span(log));
    }

    /// Records the results of a batch, each with `metadata.batchId` set.
    pub async fn log_batch_results(
        &self,
        batch_id: &str,
        calls: Vec<AiCall>,
    ) -> Result<usize, StoreError> {
        let count = calls.len();
        for mut call in calls {
            let mut metadata = match call.metadata.take() {
                Some(Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            metadata.insert("batchId".into(), Value::String(batch_id.to_owned()));
            call.metadata = Some(Value::Object(metadata));
            self.log(call).await?;
        }
        Ok(count)
    }

    /// Every call whose topic starts with `topic_prefix`.
    pub async fn calls(&self, topic_prefix: &str) -> Result<Vec<AiCallRecord>, StoreError> {
        self.log.ai_calls_by_topic(topic_prefix).await
    }

    /// Usage over every call whose topic starts with `topic_prefix` (a parent topic sees its children),
    /// aggregated by the store (on the SQL stores one `SELECT COUNT/SUM` over `ai_calls_topic_idx`).
    pub async fn usage(&self, topic_prefix: &str) -> Result<AiUsage, StoreError> {
        self.log.ai_usage_by_topic(topic_prefix).await
    }

    /// Whether the results of batch `batch_id` under `topic_prefix` were already recorded.
    pub async fn is_recorded(
        &self,
        topic_prefix: &str,
        batch_id: &str,
    ) -> Result<bool, StoreError> {
        let calls = self.calls(topic_prefix).await?;
        Ok(calls.iter().any(|c| batch_of(c) == Some(batch_id)))
    }

    /// The `metadata.customId`s of the rows recorded for batch `batch_id` under `topic_prefix`.
    pub async fn batch_custom_ids(
        &self,
        topic_prefix: &str,
        batch_id: &str,
    ) -> Result<HashSet<String>, StoreError> {
        let calls = self.calls(topic_prefix).await?;
        Ok(calls
            .iter()
            .filter(|c| batch_of(c) == Some(batch_id))
            .filter_map(|c| {
                c.metadata
                    .as_ref()?
                    .get("customId")?
                    .as_str()
                    .map(str::to_owned)
            })
            .collect())
    }
}

fn batch_of(call: &AiCallRecord) -> Option<&str> {
    call.metadata.as_ref()?.get("batchId")?.as_str()
}
