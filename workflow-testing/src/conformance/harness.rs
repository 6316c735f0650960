//! [`Harness`]: a kernel over a fresh backend, a [`FakeClock`] and a [`CollectingEventSink`], with helpers
//! to drive runs and read rows back through the ports.

use super::fixtures;
use crate::{CollectingEventSink, FakeClock};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use workflow_core::hosts::{HostConfig, JobRun, execute_job, run_maintenance_tick};
use workflow_core::ids::RunId;
use workflow_core::kernel::RetryPolicy;
use workflow_core::kernel::{Kernel, LeasedJob, RunClaimPending, RunCreate, RunsClaimed};
use workflow_core::ports::*;

/// The ports of one backend under test.
#[derive(Clone)]
pub struct Backend {
    /// The store under test, shared by the kernel and the assertions.
    pub store: Arc<dyn Store>,
    /// Its AI call log.
    pub ai_calls: Arc<dyn AiCallLog>,
}

impl Backend {
    /// The ports of a store that also logs AI calls.
    pub fn of<S: Store + AiCallLog>(store: Arc<S>) -> Self {
        Backend {
            store: store.clone(),
            ai_calls: store,
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backend({})", self.store.kind())
    }
}

/// Makes an empty backend for each scenario.
#[async_trait]
pub trait BackendFactory: Send + Sync {
    /// A backend with no rows (each scenario assumes it is alone in it).
    async fn create(&self) -> Backend;

    /// Removes what `create` made, after a scenario that passed (default: nothing to do).
    async fn cleanup(&self) {}
}

/// The in-memory backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct InMemoryBackend;

#[async_trait]
impl BackendFactory for InMemoryBackend {
    async fn create(&self) -> Backend {
        Backend::of(Arc::new(crate::InMemoryStore::new()))
    }
}

/// A kernel over a backend, with a fake clock and a collecting event sink.
pub struct Harness {
    /// A kernel over the backend with the fixture workflows and the fake clock.
    pub kernel: Kernel,
    /// The kernel's clock: time moves only when a scenario advances it.
    pub clock: Arc<FakeClock>,
    /// Its event sink.
    pub events: Arc<CollectingEventSink>,
    /// The backend the factory created for this scenario.
    pub backend: Backend,
    /// Host settings used by [`run_next_job`](Harness::run_next_job) (no jitter, so delays are exact).
    pub host: HostConfig,
    /// Never cancelled: the hard stop of jobs the harness executes.
    pub never: CancellationToken,
}

impl Harness {
    /// A harness over a fresh backend with every fixture workflow.
    pub async fn new(factory: &dyn BackendFactory) -> Self {
        Self::with_registry(factory.create().await, fixtures::registry())
    }

    /// A harness over `backend` with `registry`.
    pub fn with_registry(backend: Backend, registry: impl WorkflowRegistry + 'static) -> Self {
        Self::build(backend, Arc::new(FakeClock::new()), Arc::new(registry))
    }

    /// A second harness (another "process") over the same backend and clock, with another registry.
    pub fn sibling(&self, registry: impl WorkflowRegistry + 'static) -> Harness {
        Self::build(self.backend.clone(), self.clock.clone(), Arc::new(registry))
    }

    fn build(backend: Backend, clock: Arc<FakeClock>, registry: Arc<dyn WorkflowRegistry>) -> Self {
        let events = Arc::new(CollectingEventSink::new());
        let model = crate::ScriptedModel::new(["The answer is 42."]);
        let kernel = Kernel::builder()
            .store(backend.store.clone())
            .event_sink(events.clone())
            .clock(clock.clone())
            .shared_registry(registry)
            .ai(model.setup())
            .build()
            .expect("every port is set");
        let host = HostConfig {
            retry: RetryPolicy {
                jitter: false,
                ..RetryPolicy::default()
            },
            ..HostConfig::new("conformance-worker")
        };
        Harness {
            kernel,
            clock,
            events,
            backend,
            host,
            never: CancellationToken::new(),
        }
    }

    /// Creates a run (fresh idempotency key); returns its id.
    pub async fn create(&self, workflow_id: &str, input: Value) -> RunId {
        let command = RunCreate::new(workflow_core::ids::uuid(), workflow_id, input);
        self.kernel
            .dispatch(command)
            .await
            .expect("run.create")
            .workflow_run_id
    }

    /// Claims pending runs.
    pub async fn claim(&self) -> RunsClaimed {
        self.kernel
            .dispatch(RunClaimPending::new("conformance-worker"))
            .await
            .expect("run.claimPending")
    }

    /// Leases the next job.
    pub async fn dequeue(&self) -> Option<LeasedJob> {
        self.kernel
            .lease_jobs("conformance-worker", 1)
            .await
            .expect("lease_jobs")
            .pop()
    }

    /// Executes a leased job as a host would.
    pub async fn execute(&self, job: LeasedJob) -> JobRun {
        execute_job(&self.kernel, &self.host, job, &self.never).await
    }

    /// Leases and executes the next job as a host would.
    pub async fn run_next_job(&self) -> Option<JobRun> {
        let job = self.dequeue().await?;
        Some(self.execute(job).await)
    }

    /// Runs jobs until none is claimable.
    pub async fn drain(&self) -> Vec<JobRun> {
        let mut runs = Vec::new();
        while let Some(run) = self.run_next_job().await {
            runs.push(run);
            assert!(runs.len() < 200, "the queue does not drain");
        }
        runs
    }

    /// Claims, runs jobs, and moves the clock to the next retry or poll, until `run_id` is finished.
    pub async fn drive(&self, run_id: &str) -> RunRecord {
        for _ in 0..50 {
            run_maintenance_tick(&self.kernel, &self.host).await;
            self.drain().await;
            let run = self.run(run_id).await;
            if run.status.is_terminal() {
                return run;
            }
            let next_job = self
                .jobs(run_id)
                .await
                .into_iter()
                .filter(|j| j.status == Status::Pending)
                .filter_map(|j| j.next_poll_at)
                .min();
            let next_poll = self
                .stages(run_id)
                .await
                .into_iter()
                .filter(|s| s.status == Status::Suspended)
                .filter_map(|s| s.next_poll_at)
                .min();
            match next_job.into_iter().chain(next_poll).min() {
                Some(at) if at > self.clock.now() => self.clock.set(at),
                _ => self.clock.advance(Duration::from_secs(1)),
            }
        }
        panic!(
            "run {run_id} did not finish: {:?}",
            self.run(run_id).await.status
        );
    }

    /// An autocommit executor.
    pub async fn session(&self) -> Box<dyn Executor> {
        self.backend.store.executor().await.expect("executor")
    }

    /// The run (which must exist).
    pub async fn run(&self, run_id: &str) -> RunRecord {
        self.session()
            .await
            .get_run(run_id)
            .await
            .expect("get_run")
            .expect("the run exists")
    }

    /// Every run, newest first.
    pub async fn runs(&self) -> Vec<RunRecord> {
        self.session()
            .await
            .list_runs(&RunFilter::default())
            .await
            .expect("list_runs")
    }

    /// The run's stage rows.
    pub async fn stages(&self, run_id: &str) -> Vec<StageRecord> {
        self.session()
            .await
            .stages_by_run(run_id)
            .await
            .expect("stages_by_run")
    }

    /// One stage row (which must exist).
    pub async fn stage(&self, run_id: &str, stage_id: &str) -> StageRecord {
        self.session()
            .await
            .get_stage(run_id, stage_id)
            .await
            .expect("get_stage")
            .expect("the stage row exists")
    }

    /// The run's jobs.
    pub async fn jobs(&self, run_id: &str) -> Vec<JobRecord> {
        self.session()
            .await
            .jobs_by_run(run_id)
            .await
            .expect("jobs_by_run")
    }

    /// The run's outbox rows, by sequence.
    pub async fn outbox(&self, run_id: &str) -> Vec<OutboxRecord> {
        self.session()
            .await
            .outbox_by_run(run_id)
            .await
            .expect("outbox_by_run")
    }

    /// The run's outbox event types, by sequence.
    pub async fn event_types(&self, run_id: &str) -> Vec<String> {
        self.outbox(run_id)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    /// The run's logs.
    pub async fn logs(&self, run_id: &str) -> Vec<LogRecord> {
        self.session()
            .await
            .logs_by_run(run_id)
            .await
            .expect("logs_by_run")
    }

    /// The run's annotations.
    pub async fn annotations(&self, run_id: &str) -> Vec<AnnotationRecord> {
        self.session()
            .await
            .list_annotations(run_id, &AnnotationFilter::default())
            .await
            .expect("list_annotations")
    }

    /// The stored value of blob `key`, read through the store's blob port; `None` when absent.
    pub async fn blob(&self, key: &str) -> Option<Value> {
        self.kernel.blob_store().get(key).await.expect("blob get")
    }

    /// The fake clock's time.
    pub fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Moves the clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}
