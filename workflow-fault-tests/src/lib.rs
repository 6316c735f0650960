//! The workloads of the fault tests and the worker process they start (`fault-worker`).
//!
//! Every stage body appends a `start` line before it works and an `end` line after, to the file named by
//! [`BODY_LOG_VAR`] (one `write` each, `O_APPEND`, so lines of several processes never interleave and a
//! killed process loses nothing it wrote). The tests read the lines to check that every body ran exactly
//! as often as it should.

use std::io::Write;
use std::time::Duration;
use workflow_core::StageEnv;
use workflow_core::ports::Registry;
use workflow_core::prelude::*;

/// The environment variable naming the body log file of a worker process.
pub const BODY_LOG_VAR: &str = "FAULT_BODY_LOG";

/// The input of every fault workload, passed on from stage to stage.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct Load {
    /// How long each stage body works, in milliseconds.
    pub sleep_ms: u64,
}

/// One line of the body log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyLine {
    /// `start` or `end`.
    pub event: String,
    /// The run.
    pub run_id: String,
    /// The stage.
    pub stage_id: String,
    /// The stage row's attempt (0, higher after a rerun; the job's attempts are in `job_queue`).
    pub attempt: u32,
    /// The worker process.
    pub pid: u32,
}

impl BodyLine {
    /// Parses a line written by a stage body (`None` for anything else).
    pub fn parse(line: &str) -> Option<BodyLine> {
        let mut parts = line.split_whitespace();
        let line = BodyLine {
            event: parts.next()?.to_owned(),
            run_id: parts.next()?.to_owned(),
            stage_id: parts.next()?.to_owned(),
            attempt: parts.next()?.parse().ok()?,
            pid: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(line)
    }
}

fn log_body(event: &str, ctx: &StageEnv) {
    let Some(path) = std::env::var_os(BODY_LOG_VAR) else {
        return;
    };
    let line = format!(
        "{event} {} {} {} {}\n",
        ctx.workflow_run_id(),
        ctx.stage_id(),
        ctx.attempt(),
        std::process::id()
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    if let Err(error) = written {
        eprintln!("cannot append to the body log {}: {error}", path.display());
    }
}

async fn work(ctx: &StageEnv, load: &Load) {
    log_body("start", ctx);
    if load.sleep_ms > 0 {
        tokio::time::sleep(Duration::from_millis(load.sleep_ms)).await;
    }
    log_body("end", ctx);
}

macro_rules! passing_stages {
    ($($name:ident),*) => {$(
        /// Works for `sleep_ms`, logging its start and end, and passes its input on.
        #[stage]
        pub async fn $name(ctx: &StageContext, input: Load) -> Result<Load, StageError> {
            work(ctx, &input).await;
            Ok(input)
        }
    )*};
}

passing_stages!(fault_a, fault_b, fault_c, slow);

/// Joins the parallel group of the diamond.
#[stage]
pub async fn fault_d(ctx: &StageContext, input: (Load, Load)) -> Result<Load, StageError> {
    work(ctx, &input.0).await;
    Ok(input.0)
}

workflow! {
    /// a >> (b | c) >> d.
    pub Diamond = "fault-diamond" {
        input: Load,
        stages: fault_a >> (fault_b | fault_c) >> fault_d,
    }
}

workflow! {
    /// One stage working for `sleep_ms`.
    pub Slow = "fault-slow" {
        input: Load,
        stages: slow,
    }
}

/// The fault workflows.
pub fn registry() -> Registry {
    Registry::new().with::<Diamond>().with::<Slow>()
}
