//! [`AiHelper`]: model calls that log themselves to `ai_calls` and add their cost to the stage.

use super::batch::Batch;
use super::error::AiError;
use super::logger::{AiCallLogger, AiCallType, AiUsage};
use super::models::{ModelRegistry, ModelSpec};
use super::object::{output_schema, parse_object};
use super::provider::{EmbedRequest, Prompt, Usage};
use super::setup::{AiSetup, Providers};
use super::stream::TextStream;
use crate::definition::record::UsageMeter;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::sync::{Arc, LazyLock};

/// A model call's result with what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct AiReply<T> {
    /// The reply: text, a typed object, or embedding vectors.
    pub value: T,
    /// Tokens the provider billed.
    pub usage: Usage,
    /// USD, at the model's registered price.
    pub cost: f64,
}

/// Calls models and records every call: one `ai_calls` row per call (topic, kind, model, prompt, reply,
/// tokens, cost — the TypeScript engine's columns), and, inside a stage, the cost and tokens added to the
/// stage's `totalCost` / `totalTokens` metrics, which the run sums into its totals. Failed calls are
/// recorded too, at cost 0 with `metadata.status = "error"`.
///
/// In a stage, `ctx.ai()` is bound to the topic `workflow.<runId>.stage.<stageId>`; elsewhere build one
/// with [`AiHelper::new`]. Cloning is cheap.
///
/// ```no_run
/// use workflow_core::ai::{AiCallLogger, AiHelper};
/// # async fn demo(logger: AiCallLogger) -> Result<(), workflow_core::ai::AiError> {
/// let ai = AiHelper::new("reports.weekly", logger);
/// let reply = ai.generate_text("gpt-4o-mini", "Name three rivers.").await?;
/// println!("{} (${:.6}, {} tokens)", reply.value, reply.cost, reply.usage.total());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AiHelper {
    pub(super) topic: String,
    pub(super) setup: Arc<AiSetup>,
    pub(super) logger: Option<AiCallLogger>,
    pub(super) meter: Option<UsageMeter>,
}

impl AiHelper {
    /// A helper under `topic` (dot-separated; [`stats`](Self::stats) aggregates by prefix) that logs to
    /// `logger`, with [`AiSetup::default`] (built-in models, providers from the environment).
    pub fn new(topic: impl Into<String>, logger: AiCallLogger) -> Self {
        AiHelper {
            topic: topic.into(),
            setup: Arc::new(AiSetup::default()),
            logger: Some(logger),
            meter: None,
        }
    }

    /// Uses `setup`'s models and providers instead (default [`AiSetup::default`]).
    #[must_use]
    pub fn with_setup(mut self, setup: impl Into<Arc<AiSetup>>) -> Self {
        self.setup = setup.into();
        self
    }

    /// The helper whose calls fail with [`AiError::NoCallLog`] (a stage environment not bound to a
    /// kernel), shared by every such environment.
    pub(crate) fn unconfigured() -> &'static AiHelper {
        static UNCONFIGURED: LazyLock<AiHelper> = LazyLock::new(|| {
            AiHelper::root(
                Arc::new(AiSetup::new(ModelRegistry::empty(), Providers::empty())),
                None,
            )
        });
        &UNCONFIGURED
    }

    /// The kernel's helper: no topic yet, possibly no logger (a store without `ai_calls`).
    pub(crate) fn root(setup: Arc<AiSetup>, logger: Option<AiCallLogger>) -> Self {
        AiHelper {
            topic: String::new(),
            setup,
            logger,
            meter: None,
        }
    }

    /// The helper of one stage execution: topic `workflow.<runId>.stage.<stageId>`, usage into `meter`.
    pub(crate) fn for_stage(&self, run_id: &str, stage_id: &str, meter: UsageMeter) -> Self {
        AiHelper {
            topic: format!("workflow.{run_id}.stage.{stage_id}"),
            setup: self.setup.clone(),
            logger: self.logger.clone(),
            meter: Some(meter),
        }
    }

    /// The topic its calls are logged under.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The models and providers it calls.
    pub fn setup(&self) -> &AiSetup {
        &self.setup
    }

    /// A helper under `<topic>.<segment>` (or `<topic>.<segment>.<id>`), sharing the logger and, in a
    /// stage, the stage's metrics; the parent's [`stats`](Self::stats) include the child's calls.
    ///
    /// ```
    /// # use workflow_core::ai::{AiCallLogger, AiHelper};
    /// # fn demo(logger: AiCallLogger) {
    /// let ai = AiHelper::new("workflow.run1.stage.summarize", logger);
    /// assert_eq!(ai.child("chunk", Some("3")).topic(), "workflow.run1.stage.summarize.chunk.3");
    /// # }
    /// ```
    pub fn child(&self, segment: &str, id: Option<&str>) -> Self {
        let mut child = self.clone();
        child.topic = match id {
            Some(id) => format!("{}.{segment}.{id}", self.topic),
            None => format!("{}.{segment}", self.topic),
        };
        child
    }

    /// A text reply from `model` (a key of the model registry).
    ///
    /// ```
    /// use workflow_core::ai::Prompt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_core::ai::AiError> {
    /// # let model = workflow_testing::ScriptedModel::new(["Rivers: Nile, Amazon, Danube."]);
    /// let ai = model.helper("docs.text"); // in a stage: ctx.ai()
    /// let reply = ai.generate_text("scripted", Prompt::new("Name three rivers.").max_tokens(50)).await?;
    /// assert_eq!(reply.value, "Rivers: Nile, Amazon, Danube.");
    /// assert_eq!(reply.usage.total(), 3 + 4);
    /// assert!((reply.cost - (3.0 * 1.0 + 4.0 * 2.0) / 1e6).abs() < 1e-12); // $1 / $2 per million
    /// # Ok(()) }
    /// ```
    pub async fn generate_text(
        &self,
        model: &str,
        prompt: impl Into<Prompt>,
    ) -> Result<AiReply<String>, AiError> {
        let prompt = prompt.into();
        let (spec, provider) = self.resolve(model)?;
        let answer = provider.generate(spec, &prompt).await;
        self.settle(AiCallType::Text, spec, &prompt.text, answer, |g| {
            (g.text.clone(), g.usage)
        })
        .await
        .map(|(generation, usage, cost)| AiReply {
            value: generation.text,
            usage,
            cost,
        })
    }

    /// A `T` from `model`: the reply is asked to follow `T`'s JSON Schema (from schemars) and is
    /// deserialized into `T`; a reply that does not fit is [`AiError::InvalidObject`], naming the field
    /// (its cost still counts: the provider billed it).
    ///
    /// ```
    /// use workflow_core::ai::AiError;
    /// use workflow_core::prelude::*;
    ///
    /// #[derive(Debug, Deserialize, JsonSchema)]
    /// struct Invoice { number: String, total_cents: u64 }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), AiError> {
    /// # let model = workflow_testing::ScriptedModel::new([
    /// #     r#"{"number": "INV-7", "total_cents": 1250}"#,
    /// #     r#"{"number": "INV-8", "total_cents": "lots"}"#,
    /// # ]);
    /// let ai = model.helper("docs.object");
    /// let invoice = ai.generate_object::<Invoice>("scripted", "Extract the invoice: ...").await?;
    /// assert_eq!((invoice.value.number.as_str(), invoice.value.total_cents), ("INV-7", 1250));
    ///
    /// let error = ai.generate_object::<Invoice>("scripted", "Extract the next one.").await.unwrap_err();
    /// assert!(error.to_string().contains("at `total_cents`"), "{error}");
    /// # Ok(()) }
    /// ```
    pub async fn generate_object<T: JsonSchema + DeserializeOwned>(
        &self,
        model: &str,
        prompt: impl Into<Prompt>,
    ) -> Result<AiReply<T>, AiError> {
        let mut prompt = prompt.into();
        prompt.schema = Some(output_schema::<T>());
        let (spec, provider) = self.resolve(model)?;
        let answer = provider.generate(spec, &prompt).await;
        let (generation, usage, cost) = self
            .settle(AiCallType::Object, spec, &prompt.text, answer, |g| {
                (g.text.clone(), g.usage)
            })
            .await?;
        let value = parse_object::<T>(&spec.key, &generation.text)?;
        Ok(AiReply { value, usage, cost })
    }

    /// Embedding vectors of one text or many (a `&str`, a `Vec`, an array, or an [`EmbedRequest`] with
    /// [`dimensions`](EmbedRequest::dimensions)), in the texts' order.
    ///
    /// ```
    /// use workflow_core::ai::EmbedRequest;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_core::ai::AiError> {
    /// # let model = workflow_testing::ScriptedModel::default();
    /// let ai = model.helper("docs.embed");
    /// let one = ai.embed("scripted", "a query").await?;
    /// let many = ai.embed("scripted", EmbedRequest::new(["first text", "second"]).dimensions(2)).await?;
    /// assert_eq!((one.value.len(), many.value.len()), (1, 2));
    /// # Ok(()) }
    /// ```
    pub async fn embed(
        &self,
        model: &str,
        request: impl Into<EmbedRequest>,
    ) -> Result<AiReply<Vec<Vec<f32>>>, AiError> {
        let request = request.into();
        let (spec, provider) = self.resolve(model)?;
        let answer = provider.embed(spec, &request).await;
        let prompt = serde_json::to_string(&request.texts).unwrap_or_default();
        let describe = |e: &super::provider::Embeddings| {
            let dimensions = e.vectors.first().map_or(0, Vec::len);
            (
                json!({"embeddings": e.vectors.len(), "dimensions": dimensions}).to_string(),
                e.usage,
            )
        };
        self.settle(AiCallType::Embed, spec, &prompt, answer, describe)
            .await
            .map(|(embeddings, usage, cost)| AiReply {
                value: embeddings.vectors,
                usage,
                cost,
            })
    }

    /// A text reply as a [`Stream`](futures::Stream) of pieces; its usage is recorded when the stream
    /// ends (or, if it is dropped early, with what was reported until then).
    ///
    /// ```
    /// use futures::StreamExt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_core::ai::AiError> {
    /// # let model = workflow_testing::ScriptedModel::new(["Once upon a time"]);
    /// let ai = model.helper("docs.stream");
    /// let mut stream = ai.stream_text("scripted", "Tell a story.").await?;
    /// let mut story = String::new();
    /// while let Some(piece) = stream.next().await {
    ///     story.push_str(&piece?);
    /// }
    /// assert_eq!(story, "Once upon a time");
    /// assert_eq!(stream.usage().map(|u| u.total()), Some(3 + 4));
    /// # Ok(()) }
    /// ```
    pub async fn stream_text(
        &self,
        model: &str,
        prompt: impl Into<Prompt>,
    ) -> Result<TextStream, AiError> {
        let prompt = prompt.into();
        let (spec, provider) = self.resolve(model)?;
        match provider.stream(spec, &prompt).await {
            Ok(events) => Ok(TextStream::new(
                self.clone(),
                spec.clone(),
                prompt.text,
                events,
            )),
            Err(error) => {
                self.record_failure(AiCallType::Stream, spec, &prompt.text, &error)
                    .await;
                Err(error)
            }
        }
    }

    /// The batch API of `model`'s provider: [`submit`](Batch::submit) in a stage that suspends,
    /// [`status`](Batch::status) and [`results`](Batch::results) in its `check_completion`. Results are
    /// priced with the model's batch discount.
    pub fn batch(&self, model: &str) -> Batch {
        Batch::new(self.clone(), model.to_owned())
    }

    /// Calls, tokens and cost of every `ai_calls` row whose topic starts with this helper's topic (its
    /// children included).
    pub async fn stats(&self) -> Result<AiUsage, AiError> {
        Ok(self.logger()?.usage(&self.topic).await?)
    }

    pub(crate) fn resolve(
        &self,
        model: &str,
    ) -> Result<(&ModelSpec, &Arc<dyn super::AiProvider>), AiError> {
        self.logger()?;
        self.setup.resolve(model)
    }

    pub(crate) fn logger(&self) -> Result<&AiCallLogger, AiError> {
        self.logger.as_ref().ok_or(AiError::NoCallLog)
    }
}

impl std::fmt::Debug for AiHelper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiHelper")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}
