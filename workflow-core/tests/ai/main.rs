//! `ctx.ai()` against local mock servers answering in each provider's real format: every call writes its
//! `ai_calls` row and adds its cost and tokens to the run's totals. One module per provider; this file
//! holds the workflows the tests run and the harness that runs them on the in-memory store.

mod anthropic;
mod gemini;
mod helper;
mod openai;

use std::sync::Arc;
use std::time::Duration;
use workflow_core::ai::providers::HttpOptions;
use workflow_core::ai::{
    AiError, AiProvider, AiSetup, BatchHandle, BatchRequest, ModelRegistry, ModelSpec, Prompt,
    Providers,
};
use workflow_core::hosts::{HostConfig, RunSummary, WaitOptions, WorkerHost};
use workflow_core::kernel::{Kernel, RunCreate};
use workflow_core::ports::{AiCallLog, AiCallRecord, Registry, Status};
use workflow_core::prelude::*;
use workflow_testing::InMemoryStore;

/// USD per million prompt / completion tokens of the test model, and its batch discount.
const INPUT_PRICE: f64 = 10.0;
const OUTPUT_PRICE: f64 = 20.0;
const BATCH_DISCOUNT: f64 = 50.0;

/// What the stage should do.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Call {
    /// `text`, `object`, `object?` (propagate the error), `embed`, `stream`.
    pub kind: String,
}

/// The stage's report: the reply, or the error it caught.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Outcome {
    /// The reply (text, `number total_cents`, debug-printed vectors, pieces joined by `|`).
    pub reply: Option<String>,
    /// The error's message.
    pub error: Option<String>,
}

/// What the object calls ask for.
#[derive(Debug, Deserialize, JsonSchema, PartialEq)]
pub struct Invoice {
    /// The invoice number.
    pub number: String,
    /// Its total.
    pub total_cents: u64,
}

/// Makes the call `input.kind` names with the model `m`; catches its error (except for `object?`).
#[stage]
pub async fn call_model(ctx: &StageContext, input: Call) -> Result<Outcome, StageError> {
    use futures::StreamExt;
    let ai = ctx.ai();
    let result: Result<String, AiError> = match input.kind.as_str() {
        "text" => ai
            .generate_text(
                "m",
                Prompt::new("Say hello.").system("Be brief.").max_tokens(50),
            )
            .await
            .map(|r| r.value),
        "object" => ai
            .generate_object::<Invoice>("m", "Extract the invoice.")
            .await
            .map(|r| format!("{} {}", r.value.number, r.value.total_cents)),
        "object?" => {
            let invoice = ai
                .generate_object::<Invoice>("m", "Extract the invoice.")
                .await?;
            Ok(invoice.value.number)
        }
        "embed" => ai
            .embed(
                "m",
                workflow_core::ai::EmbedRequest::new(["a", "b"]).dimensions(3),
            )
            .await
            .map(|r| format!("{:?}", r.value)),
        "stream" => match ai.stream_text("m", "Tell a story.").await {
            Err(error) => Err(error),
            Ok(mut stream) => {
                let mut pieces = Vec::new();
                let mut failure = None;
                while let Some(piece) = stream.next().await {
                    match piece {
                        Ok(piece) => pieces.push(piece),
                        Err(error) => failure = Some(error),
                    }
                }
                match failure {
                    Some(error) => Err(error),
                    None => Ok(pieces.join("|")),
                }
            }
        },
        other => return Err(StageError::fatal(format!("unknown call {other}"))),
    };
    Ok(match result {
        Ok(reply) => Outcome {
            reply: Some(reply),
            error: None,
        },
        Err(error) => Outcome {
            reply: None,
            error: Some(error.to_string()),
        },
    })
}

workflow! {
    /// One model call.
    pub OneCall = "ai-one-call" {
        input: Call,
        stages: call_model,
    }
}

/// Submits two prompts to the batch API and suspends with the handle.
#[stage(check_completion = check_batch)]
pub async fn batch_prompts(
    ctx: &StageContext,
    _input: Call,
) -> Result<BatchStep<Vec<String>, BatchHandle>, StageError> {
    let requests = vec![
        BatchRequest::new("doc-1", "First?"),
        BatchRequest::new("doc-2", "Second?"),
    ];
    let handle = ctx.ai().batch("m").submit(requests).await?;
    Ok(Suspend::new(handle)
        .poll_every(Duration::from_millis(20))
        .into())
}

async fn check_batch(
    ctx: &CheckContext,
    handle: BatchHandle,
) -> Result<Completion<Vec<String>>, StageError> {
    let batch = ctx.ai().batch(&handle.model);
    if !batch.status(&handle).await?.state.is_finished() {
        return Ok(Completion::check_again_in(Duration::from_millis(20)));
    }
    let results = batch.results(&handle).await?;
    Ok(Completion::Ready(
        results
            .into_iter()
            .map(|r| match r.reply {
                Ok(reply) => format!("{}={}", r.custom_id, reply.value),
                Err(error) => format!("{}!{error}", r.custom_id),
            })
            .collect(),
    ))
}

workflow! {
    /// A batch submitted and polled.
    pub OneBatch = "ai-one-batch" {
        input: Call,
        stages: batch_prompts,
    }
}

/// Answers the first request to `verb path` with `response` (then lets lower-priority mocks answer):
/// `priority` 1 goes first, 2 next.
pub async fn answer_once(
    server: &wiremock::MockServer,
    verb: &str,
    route: &str,
    response: wiremock::ResponseTemplate,
    priority: u8,
) {
    use wiremock::matchers::{method, path};
    wiremock::Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .up_to_n_times(1)
        .with_priority(priority)
        .mount(server)
        .await;
}

/// A `text/event-stream` response with `body` (the events, already framed).
pub fn event_stream(body: String) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

/// Fast retries, so the retry tests take milliseconds; a timeout generous enough for a loaded machine.
pub fn fast() -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_secs(10),
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(5),
    }
}

/// [`fast`] with a 300 ms timeout, for the timeout tests (their mocks answer after 2 s).
pub fn impatient() -> HttpOptions {
    HttpOptions {
        timeout: Duration::from_millis(300),
        ..fast()
    }
}

/// A run of `kind` on `W` with model `m` = `provider_model_id` on `provider`.
pub struct Ran {
    /// The finished run.
    pub summary: RunSummary,
    /// Its `ai_calls` rows, oldest first.
    pub calls: Vec<AiCallRecord>,
}

impl Ran {
    /// The stage's outcome.
    pub fn outcome(&self) -> Outcome {
        serde_json::from_value(self.summary.output.clone().expect("an output")).expect("an Outcome")
    }

    /// The only `ai_calls` row.
    pub fn call(&self) -> &AiCallRecord {
        assert_eq!(self.calls.len(), 1, "{:#?}", self.calls);
        &self.calls[0]
    }

    /// Asserts the run's totals are the rows' sums and equal `cost` / `tokens`.
    pub fn assert_totals(&self, cost: f64, tokens: i32) {
        let row_cost: f64 = self.calls.iter().map(|c| c.cost).sum();
        let row_tokens: i32 = self
            .calls
            .iter()
            .map(|c| c.input_tokens + c.output_tokens)
            .sum();
        assert!(
            (self.summary.total_cost - cost).abs() < 1e-12,
            "run cost {} != {cost}",
            self.summary.total_cost
        );
        assert!(
            (row_cost - cost).abs() < 1e-12,
            "rows cost {row_cost} != {cost}"
        );
        assert_eq!(self.summary.total_tokens, tokens, "run tokens");
        assert_eq!(row_tokens, tokens, "rows tokens");
    }
}

/// The price of `input` / `output` tokens of the test model.
pub fn price(input: u64, output: u64, batch: bool) -> f64 {
    test_model("unused").cost(input, output, batch)
}

fn test_model(provider: &str) -> ModelSpec {
    ModelSpec::new("m", provider, "model-x")
        .prices(INPUT_PRICE, OUTPUT_PRICE)
        .batch_discount(BATCH_DISCOUNT)
}

/// Runs `kind` through workflow `W` with model `m` served by `provider` (named `name`).
pub async fn run<W, O>(
    workflow: W,
    kind: &str,
    name: &str,
    provider: impl AiProvider + 'static,
) -> Ran
where
    W: WorkflowIo<Call, O>,
{
    let store = Arc::new(InMemoryStore::new());
    let config = AiSetup::new(
        ModelRegistry::empty().register(test_model(name)),
        Providers::empty().with(name, provider),
    );
    let kernel = Kernel::builder()
        .store(store.clone())
        .registry(Registry::new().with::<W>())
        .ai(config)
        .build()
        .expect("a kernel");
    let host = WorkerHost::new(kernel, HostConfig::new("ai-test"));
    let command = RunCreate::of(
        workflow_core::ids::uuid(),
        workflow,
        &Call { kind: kind.into() },
    );
    let summary = host
        .run_and_wait(
            command,
            WaitOptions {
                timeout: Some(Duration::from_secs(20)),
                ..WaitOptions::default()
            },
            |_| {},
        )
        .await
        .expect("the run finishes");
    let calls = store
        .ai_calls_by_topic(&format!("workflow.{}.", summary.run_id))
        .await
        .expect("ai_calls");
    for call in &calls {
        assert_eq!(
            call.topic,
            format!("workflow.{}.stage.{}", summary.run_id, stage_of(&calls))
        );
        assert_eq!(call.model_key, "m");
        assert_eq!(call.model_id, "model-x");
    }
    Ran { summary, calls }
}

fn stage_of(calls: &[AiCallRecord]) -> &'static str {
    if calls.iter().any(|c| c.call_type.as_str() == "batch") {
        "batch-prompts"
    } else {
        "call-model"
    }
}

/// Asserts the row of a successful call.
pub fn assert_success_row(call: &AiCallRecord, kind: &str, input: i32, output: i32) {
    assert_eq!(call.call_type.as_str(), kind);
    assert_eq!((call.input_tokens, call.output_tokens), (input, output));
    assert!((call.cost - price(input as u64, output as u64, kind == "batch")).abs() < 1e-12);
    assert_eq!(
        call.metadata.as_ref().unwrap()["status"],
        "success",
        "{call:?}"
    );
}

/// Asserts the row of a failed call: cost 0, the error in the metadata.
pub fn assert_error_row(call: &AiCallRecord, kind: &str, error_contains: &str) {
    assert_eq!(call.call_type.as_str(), kind);
    assert_eq!(
        (call.input_tokens, call.output_tokens, call.cost),
        (0, 0, 0.0)
    );
    let metadata = call.metadata.as_ref().unwrap();
    assert_eq!(metadata["status"], "error");
    let error = metadata["error"].as_str().unwrap();
    assert!(error.contains(error_contains), "{error}");
}

/// The run completed.
pub fn assert_completed(ran: &Ran) {
    assert_eq!(ran.summary.status, Status::Completed, "{:?}", ran.summary);
}
