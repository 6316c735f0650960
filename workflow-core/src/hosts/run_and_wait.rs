//! [`WorkerHost::run_and_wait`] (reference §9.2 `runAndWait`): creates a run, runs the host until the run
//! finishes, and summarizes it; [`WorkerHost::run_until_finished`] does the same for an existing run.

use super::config::HostConfigError;
use super::worker::WorkerHost;
use crate::definition::outputs::decode_json;
use crate::definition::workflow::{WorkflowDefinition, WorkflowIo};
use crate::ids::{RunId, StageId};
use crate::kernel::{KernelError, RunCreate};
use crate::ports::{Status, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant};

/// How [`WorkerHost::run_and_wait`] waits.
#[derive(Clone, Debug)]
pub struct WaitOptions {
    /// How often the run is read (default 100 ms).
    pub poll_interval: Duration,
    /// Give up after this long (default: never).
    pub timeout: Option<Duration>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            poll_interval: Duration::from_millis(100),
            timeout: None,
        }
    }
}

/// One stage of a summarized run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageSummary {
    /// The id the workflow gives the stage.
    pub stage_id: StageId,
    /// Its display name (`#[stage(name = "..")]`, else the fn name in Title Case).
    pub stage_name: String,
    /// Its status when the summary was taken.
    pub status: Status,
    /// Its duration in ms, once finished.
    pub duration: Option<i32>,
}

/// A finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The summarized run.
    pub run_id: RunId,
    /// `COMPLETED`, `FAILED` or `CANCELLED`.
    pub status: Status,
    /// Its stages, by group and number.
    pub stages: Vec<StageSummary>,
    /// Sum of the stages' costs.
    pub total_cost: f64,
    /// Sum of the stages' tokens.
    pub total_tokens: i32,
    /// Run duration in ms.
    pub duration: Option<i32>,
    /// The stored output (for a parallel last group: `{ stageId: output }`).
    pub output: Option<Value>,
}

impl RunSummary {
    /// The output decoded as workflow `W`'s output type (a tuple for a parallel last group).
    pub fn typed_output<W: WorkflowIo<I, O>, I, O: DeserializeOwned>(
        &self,
        _workflow: W,
    ) -> Result<O, String> {
        let stored = self
            .output
            .as_ref()
            .ok_or_else(|| format!("run {} has no output (status {})", self.run_id, self.status))?;
        let definition: WorkflowDefinition = W::definition();
        decode_json(&definition.output_as_typed_json(stored))
    }
}

/// Why [`WorkerHost::run_and_wait`] returned without a summary.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// Creating the run failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// Reading the run failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The host could not start (its settings contradict each other).
    #[error(transparent)]
    Config(#[from] HostConfigError),
    /// The run vanished.
    #[error("Run {0} not found")]
    RunNotFound(String),
    /// The run did not finish in time (it keeps running).
    #[error("run {run_id} did not finish within {timeout:?} (status {status})")]
    Timeout {
        /// The run.
        run_id: String,
        /// The wait limit.
        timeout: Duration,
        /// Its status when the wait ended.
        status: Status,
    },
}

impl WorkerHost {
    /// Creates a run with `command`, starts this host if it is not running, waits until the run finishes
    /// (calling `on_stage_change` whenever a stage's status changes), stops the host if it started it, and
    /// summarizes the run.
    pub async fn run_and_wait(
        &self,
        command: RunCreate,
        options: WaitOptions,
        on_stage_change: impl FnMut(&[StageSummary]) + Send,
    ) -> Result<RunSummary, WaitError> {
        let created = self.kernel().dispatch(command).await?;
        self.run_until_finished(&created.workflow_run_id, options, on_stage_change)
            .await
    }

    /// Starts this host if it is not running, waits until run `run_id` finishes (calling `on_stage_change`
    /// whenever a stage's status changes), stops the host if it started it, and summarizes the run. Use it
    /// for a run created earlier, e.g. when the run id is needed before waiting.
    pub async fn run_until_finished(
        &self,
        run_id: &str,
        options: WaitOptions,
        mut on_stage_change: impl FnMut(&[StageSummary]) + Send,
    ) -> Result<RunSummary, WaitError> {
        let started_here = self.start().await?;
        let result = self.wait_for(run_id, &options, &mut on_stage_change).await;
        if started_here {
            self.stop().await;
        }
        result
    }

    async fn wait_for(
        &self,
        run_id: &str,
        options: &WaitOptions,
        on_stage_change: &mut (dyn FnMut(&[StageSummary]) + Send),
    ) -> Result<RunSummary, WaitError> {
        let begun = Instant::now();
        let mut last: Vec<StageSummary> = Vec::new();
        loop {
            let mut session = self.kernel().store().executor().await?;
            let run = session
                .get_run(run_id)
                .await?
                .ok_or_else(|| WaitError::RunNotFound(run_id.to_owned()))?;
            let stages: Vec<StageSummary> = session
                .stages_by_run(run_id)
                .await?
                .into_iter()
                .map(|s| StageSummary {
                    stage_id: s.stage_id,
                    stage_name: s.stage_name,
                    status: s.status,
                    duration: s.duration,
                })
                .collect();
            drop(session);
            if stages != last {
                on_stage_change(&stages);
                last = stages;
            }
            if run.status.is_terminal() {
                return Ok(RunSummary {
                    run_id: run.id,
                    status: run.status,
                    stages: last,
                    total_cost: run.total_cost,
                    total_tokens: run.total_tokens,
                    duration: run.duration,
                    output: run.output,
                });
            }
            if let Some(timeout) = options.timeout
                && begun.elapsed() >= timeout
            {
                return Err(WaitError::Timeout {
                    run_id: run_id.to_owned(),
                    timeout,
                    status: run.status,
                });
            }
            tokio::time::sleep(options.poll_interval).await;
        }
    }
}
