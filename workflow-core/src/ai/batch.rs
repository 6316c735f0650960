//! [`Batch`]: a provider's batch API from an async-batch stage — submit in the stage, poll and read the
//! results in `check_completion`.

use super::error::AiError;
use super::helper::{AiHelper, AiReply};
use super::logger::AiCallType;
use super::object::parse_object;
use super::provider::{BatchRequest, BatchStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The batch API of one model, from [`AiHelper::batch`].
///
/// ```no_run
/// # use workflow_core::prelude::*;
/// use workflow_core::ai::{BatchHandle, BatchRequest};
/// # async fn submit(ctx: &StageContext<()>, texts: Vec<String>) -> Result<BatchHandle, StageError> {
/// // In the stage body: submit, then suspend with the handle as the stage's state.
/// let requests = texts.iter().enumerate().map(|(i, t)| BatchRequest::new(format!("doc-{i}"), t.as_str()));
/// let handle = ctx.ai().batch("gpt-4o-mini").submit(requests.collect()).await?;
/// # Ok(handle) }
/// # async fn check(ctx: &CheckContext, handle: BatchHandle) -> Result<Option<Vec<String>>, StageError> {
/// // In check_completion: poll, and read the results once the batch is finished.
/// let batch = ctx.ai().batch(&handle.model);
/// if !batch.status(&handle).await?.state.is_finished() {
///     return Ok(None);
/// }
/// let texts = batch.results(&handle).await?.into_iter().filter_map(|r| r.reply.ok()).map(|r| r.value);
/// # Ok(Some(texts.collect())) }
/// ```
#[derive(Clone, Debug)]
pub struct Batch {
    helper: AiHelper,
    model: String,
}

/// A submitted batch: keep it in the suspended stage's state (it serializes) to poll it later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchHandle {
    /// The provider's batch id.
    pub id: String,
    /// The model key it was submitted for.
    pub model: String,
    /// How many requests it holds.
    pub requests: usize,
}

/// One request's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchResult {
    /// The request's `custom_id`.
    pub custom_id: String,
    /// Its reply with usage and (discounted) cost, or the provider's error for it.
    pub reply: Result<AiReply<String>, String>,
}

impl BatchResult {
    /// The reply deserialized into `T` (for requests asking for JSON).
    pub fn parse<T: DeserializeOwned>(&self, model: &str) -> Result<T, AiError> {
        match &self.reply {
            Ok(reply) => parse_object(model, &reply.value),
            Err(message) => Err(AiError::InvalidObject {
                model: model.to_owned(),
                type_name: std::any::type_name::<T>().to_owned(),
                path: ".".into(),
                detail: format!("request {} failed: {message}", self.custom_id),
                reply: String::new(),
            }),
        }
    }
}

impl Batch {
    pub(crate) fn new(helper: AiHelper, model: String) -> Self {
        Batch { helper, model }
    }

    /// Submits `requests` (their `custom_id`s must be unique); nothing is billed yet.
    pub async fn submit(&self, requests: Vec<BatchRequest>) -> Result<BatchHandle, AiError> {
        let (spec, provider) = self.helper.resolve(&self.model)?;
        let id = provider.submit_batch(spec, &requests).await?;
        tracing::info!(batch_id = %id, model = %spec.key, requests = requests.len(), "submitted an AI batch");
        Ok(BatchHandle {
            id,
            model: spec.key.clone(),
            requests: requests.len(),
        })
    }

    /// Where the batch stands.
    pub async fn status(&self, handle: &BatchHandle) -> Result<BatchStatus, AiError> {
        let (spec, provider) = self.helper.resolve(&self.model)?;
        provider.batch_status(spec, &handle.id).await
    }

    /// The answers of a finished batch, priced with the model's batch discount. Each answer is written
    /// to `ai_calls` once (call type `batch`, `metadata.batchId` and `customId`): reading the results
    /// again (for example after a crash before the stage completed) writes rows only for answers not yet
    /// written. Every read adds the batch's cost to the stage reading it, so read them once per
    /// `check_completion`.
    pub async fn results(&self, handle: &BatchHandle) -> Result<Vec<BatchResult>, AiError> {
        let (spec, provider) = self.helper.resolve(&self.model)?;
        let items = provider.batch_results(spec, &handle.id).await?;
        let logger = self.helper.logger()?;
        let recorded = logger
            .batch_custom_ids(self.helper.topic(), &handle.id)
            .await?;
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let reply = match item.outcome {
                Ok(generation) => {
                    let usage = generation.usage;
                    let cost = if recorded.contains(&item.custom_id) {
                        self.helper.charge(spec, usage, true)
                    } else {
                        let meta = json!({"batchId": handle.id, "customId": item.custom_id});
                        let response = generation.text.clone();
                        self.helper
                            .record(
                                AiCallType::Batch,
                                spec,
                                "",
                                response,
                                usage,
                                true,
                                Some(meta),
                            )
                            .await
                    };
                    Ok(AiReply {
                        value: generation.text,
                        usage,
                        cost,
                    })
                }
                Err(message) => Err(message),
            };
            results.push(BatchResult {
                custom_id: item.custom_id,
                reply,
            });
        }
        Ok(results)
    }
}
