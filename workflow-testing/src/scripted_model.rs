//! [`ScriptedModel`]: an in-process [`AiProvider`] with canned replies, for tests and examples of stages
//! that call `ctx.ai()` without a network or a mock server.

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use workflow_core::ai::{
    AiCallLogger, AiError, AiHelper, AiProvider, AiSetup, BatchItem, BatchRequest, BatchState,
    BatchStatus, EmbedRequest, Embeddings, Generation, ModelRegistry, ModelSpec, Prompt, Providers,
    StreamEvent, Usage,
};
use workflow_core::ports::SystemClock;

/// Replies with the texts it was given, in order (the last one again when they run out), billing one
/// token per word of prompt and reply; embeds every text as `[words, chars]`; streams a reply word by
/// word; runs batches at once (a submitted batch is `Completed`, each request answered as a prompt
/// would be). Each prompt it received is kept for assertions.
///
/// ```
/// use workflow_testing::ScriptedModel;
///
/// # tokio_test_block_on(async {
/// let model = ScriptedModel::new(["Hello there."]);
/// let ai = model.helper("docs.example");
/// let reply = ai.generate_text("scripted", "Say hi.").await?;
/// assert_eq!(reply.value, "Hello there.");
/// assert_eq!((reply.usage.input_tokens, reply.usage.output_tokens), (2, 2));
/// assert_eq!(ai.stats().await?.calls, 1);
/// # Ok::<(), workflow_core::ai::AiError>(()) }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Default)]
pub struct ScriptedModel {
    replies: Arc<Mutex<VecDeque<String>>>,
    prompts: Arc<Mutex<Vec<Prompt>>>,
    batches: Arc<Mutex<Vec<Vec<BatchItem>>>>,
}

impl ScriptedModel {
    /// A model that answers `replies` in order.
    pub fn new<S: Into<String>>(replies: impl IntoIterator<Item = S>) -> Self {
        ScriptedModel {
            replies: Arc::new(Mutex::new(replies.into_iter().map(Into::into).collect())),
            prompts: Arc::default(),
            batches: Arc::default(),
        }
    }

    /// The prompts received so far.
    pub fn prompts(&self) -> Vec<Prompt> {
        self.prompts.lock().unwrap().clone()
    }

    /// An [`AiSetup`] with this model under the key `scripted` (provider `scripted`, $1 / $2 per million
    /// tokens, 50 % batch discount); give it to `Kernel::builder().ai(..)`.
    pub fn setup(&self) -> AiSetup {
        let spec = ModelSpec::new("scripted", "scripted", "scripted-1")
            .prices(1.0, 2.0)
            .batch_discount(50.0);
        AiSetup::new(
            ModelRegistry::empty().register(spec),
            Providers::empty().with("scripted", self.clone()),
        )
    }

    /// An [`AiHelper`] under `topic` over this model, logging to a fresh in-memory `ai_calls` table.
    pub fn helper(&self, topic: &str) -> AiHelper {
        let log = Arc::new(crate::InMemoryStore::new());
        AiHelper::new(topic, AiCallLogger::new(log, Arc::new(SystemClock))).with_setup(self.setup())
    }

    fn next_reply(&self, prompt: &Prompt) -> Generation {
        self.prompts.lock().unwrap().push(prompt.clone());
        let mut replies = self.replies.lock().unwrap();
        let text = if replies.len() > 1 {
            replies.pop_front().unwrap_or_default()
        } else {
            replies.front().cloned().unwrap_or_default()
        };
        let usage = Usage {
            input_tokens: words(&prompt.text),
            output_tokens: words(&text),
        };
        Generation { text, usage }
    }
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

#[async_trait]
impl AiProvider for ScriptedModel {
    async fn generate(&self, _model: &ModelSpec, prompt: &Prompt) -> Result<Generation, AiError> {
        Ok(self.next_reply(prompt))
    }

    async fn embed(
        &self,
        _model: &ModelSpec,
        request: &EmbedRequest,
    ) -> Result<Embeddings, AiError> {
        let vectors = request
            .texts
            .iter()
            .map(|t| vec![words(t) as f32, t.chars().count() as f32])
            .collect();
        let input_tokens = request.texts.iter().map(|t| words(t)).sum();
        Ok(Embeddings {
            vectors,
            usage: Usage {
                input_tokens,
                output_tokens: 0,
            },
        })
    }

    async fn stream(
        &self,
        _model: &ModelSpec,
        prompt: &Prompt,
    ) -> Result<BoxStream<'static, Result<StreamEvent, AiError>>, AiError> {
        let generation = self.next_reply(prompt);
        let mut events: Vec<Result<StreamEvent, AiError>> = generation
            .text
            .split_inclusive(' ')
            .map(|piece| Ok(StreamEvent::Text(piece.to_owned())))
            .collect();
        events.push(Ok(StreamEvent::Usage(generation.usage)));
        Ok(futures::stream::iter(events).boxed())
    }

    async fn submit_batch(
        &self,
        _model: &ModelSpec,
        requests: &[BatchRequest],
    ) -> Result<String, AiError> {
        let items = requests
            .iter()
            .map(|request| BatchItem {
                custom_id: request.custom_id.clone(),
                outcome: Ok(self.next_reply(&request.prompt)),
            })
            .collect();
        let mut batches = self.batches.lock().unwrap();
        batches.push(items);
        Ok(format!("scripted-batch-{}", batches.len()))
    }

    async fn batch_status(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<BatchStatus, AiError> {
        let items = self.batch(model, batch_id)?;
        let total = items.len() as u64;
        Ok(BatchStatus {
            state: BatchState::Completed,
            total,
            succeeded: total,
            failed: 0,
        })
    }

    async fn batch_results(
        &self,
        model: &ModelSpec,
        batch_id: &str,
    ) -> Result<Vec<BatchItem>, AiError> {
        self.batch(model, batch_id)
    }
}

impl ScriptedModel {
    fn batch(&self, model: &ModelSpec, batch_id: &str) -> Result<Vec<BatchItem>, AiError> {
        let index = batch_id
            .strip_prefix("scripted-batch-")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(1));
        let batches = self.batches.lock().unwrap();
        index
            .and_then(|i| batches.get(i).cloned())
            .ok_or_else(|| AiError::Http {
                provider: model.provider.clone(),
                model: model.provider_model_id.clone(),
                status: 404,
                message: format!("no batch {batch_id}"),
            })
    }
}
