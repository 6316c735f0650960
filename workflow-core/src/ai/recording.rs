//! How an [`AiHelper`] records a call: the cost into the stage's metrics, one `ai_calls` row with the
//! provider and outcome in its metadata (failures at cost 0, `metadata.status = "error"`).

use super::error::AiError;
use super::helper::AiHelper;
use super::logger::{AiCall, AiCallType};
use super::models::ModelSpec;
use super::provider::Usage;
use serde_json::{Value, json};

impl AiHelper {
    /// Records the outcome of a call (cost and row on success, a cost-0 error row on failure).
    pub(crate) async fn settle<A>(
        &self,
        kind: AiCallType,
        spec: &ModelSpec,
        prompt: &str,
        answer: Result<A, AiError>,
        describe: impl FnOnce(&A) -> (String, Usage),
    ) -> Result<(A, Usage, f64), AiError> {
        match answer {
            Ok(answer) => {
                let (response, usage) = describe(&answer);
                let cost = self
                    .record(kind, spec, prompt, response, usage, false, None)
                    .await;
                Ok((answer, usage, cost))
            }
            Err(error) => {
                self.record_failure(kind, spec, prompt, &error).await;
                Err(error)
            }
        }
    }

    /// Prices `usage` at `spec`'s rates (with the batch discount when `batch`) and adds it to the stage's
    /// metrics; returns the cost.
    pub(crate) fn charge(&self, spec: &ModelSpec, usage: Usage, batch: bool) -> f64 {
        let cost = spec.cost(usage.input_tokens, usage.output_tokens, batch);
        if let Some(meter) = &self.meter {
            meter.add(cost, usage.total());
        }
        cost
    }

    /// Adds the call's cost to the stage and writes its row; returns the cost. A row that cannot be
    /// written is reported as a warning: the call happened and its cost stays in the stage's metrics.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record(
        &self,
        kind: AiCallType,
        spec: &ModelSpec,
        prompt: &str,
        response: String,
        usage: Usage,
        batch: bool,
        metadata: Option<Value>,
    ) -> f64 {
        let cost = self.charge(spec, usage, batch);
        let mut meta = json!({"provider": spec.provider, "status": "success"});
        if let (Some(Value::Object(extra)), Value::Object(map)) = (metadata, &mut meta) {
            map.extend(extra);
        }
        self.write(kind, spec, prompt, response, usage, cost, meta)
            .await;
        cost
    }

    pub(crate) async fn record_failure(
        &self,
        kind: AiCallType,
        spec: &ModelSpec,
        prompt: &str,
        error: &AiError,
    ) {
        let meta =
            json!({"provider": spec.provider, "status": "error", "error": error.to_string()});
        self.write(
            kind,
            spec,
            prompt,
            String::new(),
            Usage::default(),
            0.0,
            meta,
        )
        .await;
    }

    #[allow(clippy::too_many_arguments)]
    async fn write(
        &self,
        kind: AiCallType,
        spec: &ModelSpec,
        prompt: &str,
        response: String,
        usage: Usage,
        cost: f64,
        metadata: Value,
    ) {
        let Some(logger) = &self.logger else { return };
        let call = AiCall {
            topic: self.topic.clone(),
            call_type: kind,
            model_key: spec.key.clone(),
            model_id: spec.provider_model_id.clone(),
            prompt: prompt.to_owned(),
            response,
            input_tokens: u32::try_from(usage.input_tokens).unwrap_or(u32::MAX),
            output_tokens: u32::try_from(usage.output_tokens).unwrap_or(u32::MAX),
            cost,
            metadata: Some(metadata),
        };
        if let Err(error) = logger.log(call).await {
            tracing::warn!(%error, topic = %self.topic, model = %spec.key, "could not record an AI call in ai_calls");
        }
    }
}
