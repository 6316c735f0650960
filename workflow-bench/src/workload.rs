//! The workflows the benchmark runs: no-op pipelines for throughput (a 5-stage chain and a diamond with a
//! parallel group), the same chain with timing probes for latency, and suspending stages for the poll
//! latency and memory scenarios.

use crate::probe;
use std::time::Duration;
use workflow_core::ports::Registry;
use workflow_core::prelude::*;

/// The input and output of every benchmark stage.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Token {
    /// The run's index in its batch.
    pub n: u64,
}

/// The state of a suspended probe stage.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct PollState {
    /// When the first check is due, in microseconds since the epoch (wall clock).
    pub due_micros: i64,
}

macro_rules! noop_stages {
    ($($name:ident),*) => {$(
        /// Passes its input on.
        #[stage]
        pub async fn $name(input: Token) -> Result<Token, StageError> {
            Ok(input)
        }
    )*};
}

noop_stages!(s1, s2, s3, s4, s5, fan_a, fan_b, fan_c);

/// Joins the parallel group of the diamond.
#[stage]
pub async fn fan_d(input: (Token, Token)) -> Result<Token, StageError> {
    Ok(input.0)
}

macro_rules! probe_stages {
    ($($name:ident),*) => {$(
        /// Passes its input on, recording when its body starts and ends.
        #[stage]
        pub async fn $name(ctx: &StageContext, input: Token) -> Result<Token, StageError> {
            probe::stage_started(ctx.workflow_run_id(), ctx.stage_id());
            probe::stage_finished(ctx.workflow_run_id(), ctx.stage_id());
            Ok(input)
        }
    )*};
}

probe_stages!(p1, p2, p3, p4, p5);

/// The delay before the first check of [`suspend_probe()`].
pub const PROBE_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Suspends with `poll_every(200ms)`; its check records how late it came.
#[stage(check_completion = check_probe)]
pub async fn suspend_probe(input: Token) -> Result<BatchStep<Token, PollState>, StageError> {
    let due = chrono::Utc::now()
        + chrono::Duration::from_std(PROBE_POLL_INTERVAL).expect("a small duration");
    let due = chrono::DateTime::from_timestamp_millis(due.timestamp_millis()).expect("in range");
    let _ = input;
    Ok(Suspend::new(PollState {
        due_micros: due.timestamp_micros(),
    })
    .poll_every(PROBE_POLL_INTERVAL)
    .first_poll_at(due)
    .into())
}

async fn check_probe(
    ctx: &CheckContext,
    state: PollState,
) -> Result<Completion<Token>, StageError> {
    let late = chrono::Utc::now().timestamp_micros() - state.due_micros;
    probe::check_happened(ctx.workflow_run_id(), late);
    Ok(Completion::Ready(Token::default()))
}

/// Suspends for an hour (the memory scenario holds many of these).
#[stage(check_completion = check_never)]
pub async fn suspend_long(input: Token) -> Result<BatchStep<Token, PollState>, StageError> {
    let _ = input;
    Ok(Suspend::new(PollState { due_micros: 0 })
        .poll_every(Duration::from_secs(3600))
        .into())
}

async fn check_never(_: &CheckContext, _: PollState) -> Result<Completion<Token>, StageError> {
    Ok(Completion::not_ready())
}

workflow! {
    /// Five no-op stages in a row.
    pub Linear = "bench-linear" {
        input: Token,
        stages: s1 >> s2 >> s3 >> s4 >> s5,
    }
}

workflow! {
    /// a >> (b | c) >> d, all no-ops.
    pub Diamond = "bench-diamond" {
        input: Token,
        stages: fan_a >> (fan_b | fan_c) >> fan_d,
    }
}

workflow! {
    /// Five probed stages in a row (latency).
    pub Probed = "bench-probed" {
        input: Token,
        stages: p1 >> p2 >> p3 >> p4 >> p5,
    }
}

workflow! {
    /// One stage that suspends for 200 ms.
    pub Polled = "bench-polled" {
        input: Token,
        stages: suspend_probe,
    }
}

workflow! {
    /// One stage that suspends for an hour.
    pub Parked = "bench-parked" {
        input: Token,
        stages: suspend_long,
    }
}

/// Which throughput workload a measurement runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// [`Linear`].
    Linear,
    /// [`Diamond`].
    Diamond,
}

impl Shape {
    /// Both shapes.
    pub const ALL: [Shape; 2] = [Shape::Linear, Shape::Diamond];

    /// The workflow id.
    pub fn workflow_id(self) -> &'static str {
        match self {
            Shape::Linear => "bench-linear",
            Shape::Diamond => "bench-diamond",
        }
    }

    /// Stage executions per run.
    pub fn stages(self) -> usize {
        match self {
            Shape::Linear => 5,
            Shape::Diamond => 4,
        }
    }

    /// A short label for tables and result ids.
    pub fn label(self) -> &'static str {
        match self {
            Shape::Linear => "linear-5",
            Shape::Diamond => "diamond a>>(b|c)>>d",
        }
    }

    /// The id fragment.
    pub fn key(self) -> &'static str {
        match self {
            Shape::Linear => "linear",
            Shape::Diamond => "diamond",
        }
    }
}

/// Every benchmark workflow.
pub fn registry() -> Registry {
    Registry::new()
        .with::<Linear>()
        .with::<Diamond>()
        .with::<Probed>()
        .with::<Polled>()
        .with::<Parked>()
}
