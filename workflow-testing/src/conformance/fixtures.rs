//! The workflows the conformance scenarios run. Stage behaviour is scripted through the input ([`Script`]):
//! fail a number of times, fail fatally, panic, wait at a gate, or (batch stages) stay not-ready for some
//! polls. Counters and gates are keyed by run id, so scenarios running in parallel do not interfere.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use workflow_core::ai::{BatchHandle, BatchRequest};
use workflow_core::prelude::*;

/// What a fixture stage does; the workflow input and every stage output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "camelCase")]
pub struct Script {
    /// The value stages compute with.
    pub value: i64,
    /// The first N executions of `first` fail.
    pub fail_times: u32,
    /// Failures are not retryable.
    pub fatal: bool,
    /// `first` panics.
    pub panic: bool,
    /// `first` waits at the run's gate (see [`release_gate`]).
    pub gate: bool,
    /// `submit_batch` stays not ready for this many polls.
    pub polls_until_ready: u32,
    /// `submit_batch`'s check reports a failure.
    pub batch_fails: bool,
    /// `first` emits `annotation:created` for its annotation.
    pub emit_annotation_event: bool,
    /// `first` returns a note with a NUL byte (which no backend can store).
    pub nul_output: bool,
    /// Free text carried through the stages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The config of stage `first`: `factor` multiplies the input value (default 2), `label` tags it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct FirstConfig {
    /// Multiplies the value (default 2).
    pub factor: i64,
    /// A label (default "x").
    pub label: String,
}

impl Default for FirstConfig {
    fn default() -> Self {
        FirstConfig {
            factor: 2,
            label: "x".into(),
        }
    }
}

/// A config with a required field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequiredConfig {
    /// Required.
    pub api_key: String,
}

/// The suspended state of `submit_batch`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BatchState {
    /// The script it was submitted with.
    pub script: Script,
}

static EXECUTIONS: LazyLock<Mutex<HashMap<(String, &'static str), u32>>> =
    LazyLock::new(Mutex::default);

/// Counts an execution of `stage` in `run_id`; returns the count including this one.
pub fn count_execution(run_id: &str, stage: &'static str) -> u32 {
    let mut executions = EXECUTIONS.lock().unwrap_or_else(|p| p.into_inner());
    let count = executions.entry((run_id.to_owned(), stage)).or_default();
    *count += 1;
    *count
}

/// How many times `stage` ran (or was polled) in `run_id`.
pub fn executions(run_id: &str, stage: &'static str) -> u32 {
    EXECUTIONS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(run_id.to_owned(), stage))
        .copied()
        .unwrap_or(0)
}

struct Gate {
    entered: Notify,
    release: Semaphore,
}

static GATES: LazyLock<Mutex<HashMap<String, Arc<Gate>>>> = LazyLock::new(Mutex::default);

fn gate(run_id: &str) -> Arc<Gate> {
    GATES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(run_id.to_owned())
        .or_insert_with(|| {
            Arc::new(Gate {
                entered: Notify::new(),
                release: Semaphore::new(0),
            })
        })
        .clone()
}

/// Waits until a gated stage of `run_id` is inside its body.
pub async fn wait_until_gated(run_id: &str) {
    let gate = gate(run_id);
    tokio::time::timeout(Duration::from_secs(10), gate.entered.notified())
        .await
        .expect("the gated stage started");
}

/// Lets the gated stage of `run_id` finish.
pub fn release_gate(run_id: &str) {
    gate(run_id).release.add_permits(1);
}

/// Multiplies the value; logs, reports progress, annotates and records usage; fails, panics or waits as
/// scripted.
#[stage]
pub async fn first(
    ctx: &StageContext,
    input: Script,
    config: FirstConfig,
) -> Result<Script, StageError> {
    let run = ctx.workflow_run_id().to_owned();
    let execution = count_execution(&run, "first");
    ctx.log(
        LogLevel::Info,
        format!("first execution {execution}"),
        serde_json::json!({ "label": config.label }),
    );
    ctx.progress(0.5, "halfway");
    let mut annotation = Annotation::new("fixture.execution", execution);
    if input.emit_annotation_event {
        annotation = annotation.emit_event();
    }
    ctx.annotate_with(annotation);
    ctx.record_usage(0.5, 100);
    ctx.save_artifact("raw input", &input);
    if input.panic {
        panic!("scripted panic in run {run}");
    }
    if input.gate {
        let gate = gate(&run);
        gate.entered.notify_one();
        let _permit = gate
            .release
            .acquire()
            .await
            .expect("the gate is never closed");
    }
    if execution <= input.fail_times {
        let message = format!("scripted failure {execution}");
        return Err(if input.fatal {
            StageError::fatal(message)
        } else {
            StageError::retryable(message)
        });
    }
    ctx.progress(1.0, "done");
    Ok(Script {
        value: input.value * config.factor,
        note: input
            .nul_output
            .then(|| "before\u{0}after".to_owned())
            .or(input.note.clone()),
        ..input
    })
}

/// Adds one.
#[stage]
pub async fn second(input: Script) -> Result<Script, StageError> {
    Ok(Script {
        value: input.value + 1,
        ..input
    })
}

/// Describes `second`'s output; reads only from the context.
#[stage]
pub async fn third(ctx: &StageContext) -> Result<String, StageError> {
    let second = ctx.require::<second>()?;
    Ok(format!("value={}", second.value))
}

/// Times ten.
#[stage]
pub async fn left(input: Script) -> Result<i64, StageError> {
    Ok(input.value * 10)
}

/// The value as text.
#[stage]
pub async fn right(input: Script) -> Result<String, StageError> {
    Ok(format!("#{}", input.value))
}

/// Joins the parallel outputs.
#[stage]
pub async fn join(ctx: &StageContext, input: (i64, String)) -> Result<String, StageError> {
    let first = ctx.require::<first>()?;
    Ok(format!("{}{} from {}", input.0, input.1, first.value))
}

/// Suspends until polled enough; completes at once for value 0.
#[stage(check_completion = check_batch)]
pub async fn submit_batch(
    ctx: &StageContext,
    input: Script,
) -> Result<BatchStep<Script, BatchState>, StageError> {
    count_execution(ctx.workflow_run_id(), "submit_batch");
    if input.value == 0 {
        return Ok(BatchStep::Done(input));
    }
    Ok(Suspend::new(BatchState { script: input })
        .poll_every(Duration::from_secs(30))
        .max_wait(Duration::from_secs(600))
        .into())
}

async fn check_batch(
    ctx: &CheckContext,
    state: BatchState,
) -> Result<Completion<Script>, StageError> {
    let polls = count_execution(ctx.workflow_run_id(), "check_batch");
    ctx.info(format!("poll {polls}"));
    ctx.annotate_with(Annotation::new("batch.poll", polls).emit_event());
    if state.script.batch_fails {
        return Ok(Completion::Failed("provider rejected the batch".into()));
    }
    if polls <= state.script.polls_until_ready {
        return Ok(Completion::not_ready());
    }
    ctx.record_usage(0.25, 10);
    Ok(Completion::Ready(Script {
        value: state.script.value + 100,
        ..state.script
    }))
}

/// Passes the batch output on.
#[stage]
pub async fn after_batch(input: Script) -> Result<Script, StageError> {
    Ok(Script {
        value: input.value + 1,
        ..input
    })
}

/// Needs an API key in its config.
#[stage]
pub async fn configured(input: Script, config: RequiredConfig) -> Result<String, StageError> {
    Ok(format!("{}:{}", config.api_key, input.value))
}

workflow! {
    /// first >> second >> third.
    pub Linear = "conformance-linear" {
        input: Script,
        stages: first >> second >> third,
    }
}

workflow! {
    /// first >> (left | right) >> join.
    pub Fanout = "conformance-fanout" {
        input: Script,
        stages: first >> (left | right) >> join,
    }
}

workflow! {
    /// first >> (left | right): a parallel last group.
    pub ParallelEnd = "conformance-parallel-end" {
        input: Script,
        stages: first >> (left | right),
    }
}

workflow! {
    /// submit_batch >> after_batch.
    pub Batched = "conformance-batch" {
        input: Script,
        stages: submit_batch >> after_batch,
    }
}

/// Asks the harness's scripted model (`scripted`, see [`crate::ScriptedModel`]) for a text and
/// embeddings of `input.text`, through `ctx.ai()`.
#[stage]
pub async fn ask_model(ctx: &StageContext, input: Question) -> Result<String, StageError> {
    let reply = ctx
        .ai()
        .generate_text("scripted", input.text.as_str())
        .await?;
    ctx.ai().embed("scripted", input.text.as_str()).await?;
    Ok(reply.value)
}

/// Submits two prompts to the scripted model's batch API, suspends, and reads the results when polled.
#[stage(check_completion = check_model_batch)]
pub async fn batch_model(
    ctx: &StageContext,
    input: String,
) -> Result<BatchStep<Vec<String>, BatchHandle>, StageError> {
    let requests = vec![
        BatchRequest::new("first", input.as_str()),
        BatchRequest::new("second", "and again"),
    ];
    let handle = ctx.ai().batch("scripted").submit(requests).await?;
    Ok(Suspend::new(handle)
        .poll_every(Duration::from_secs(30))
        .into())
}

async fn check_model_batch(
    ctx: &CheckContext,
    handle: BatchHandle,
) -> Result<Completion<Vec<String>>, StageError> {
    let batch = ctx.ai().batch(&handle.model);
    if !batch.status(&handle).await?.state.is_finished() {
        return Ok(Completion::not_ready());
    }
    let results = batch.results(&handle).await?;
    Ok(Completion::Ready(
        results
            .into_iter()
            .map(|r| r.reply.map_or_else(|e| e, |reply| reply.value))
            .collect(),
    ))
}

/// The input of [`AiPipeline`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct Question {
    /// What to ask.
    pub text: String,
}

workflow! {
    /// ask_model >> batch_model: model calls through `ctx.ai()`, one sync and one async-batch stage.
    pub AiPipeline = "conformance-ai" {
        input: Question,
        stages: ask_model >> batch_model,
    }
}

workflow! {
    /// A stage with a required config.
    pub Configured = "conformance-configured" {
        input: Script,
        stages: configured,
    }
}

/// Every fixture workflow.
pub fn registry() -> workflow_core::ports::Registry {
    workflow_core::ports::Registry::new()
        .with::<AiPipeline>()
        .with::<Linear>()
        .with::<Fanout>()
        .with::<ParallelEnd>()
        .with::<Batched>()
        .with::<Configured>()
}
