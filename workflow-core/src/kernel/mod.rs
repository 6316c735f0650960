//! The command kernel: a dispatcher over the ports, with the eleven commands of the TypeScript engine as
//! typed structs. It holds no timers; hosts drive it. Each command is a unit of work: `dispatch` opens the
//! transaction, records the idempotency key, runs the command, appends its events to the outbox, commits
//! and then wakes whoever waits for the work it made.
//!
//! Jobs run outside the commands, on the stage hot path: [`Kernel::lease_jobs`] claims up to a worker's free
//! slots in one transaction, and [`Kernel::execute_then_lease`] runs a stage body with no transaction open,
//! then records its outcome, the job's end, the run's transition and the lease of the next job for the same
//! slot in one transaction. Hosts ([`crate::hosts`]) drive both.
//!
//! ```
//! use std::sync::Arc;
//! use workflow_core::kernel::{Kernel, RunCreate};
//! use workflow_core::ports::Registry;
//! use workflow_core::prelude::*;
//! use workflow_testing::InMemoryStore;
//!
//! #[stage]
//! async fn double(input: u32) -> Result<u32, StageError> { Ok(input * 2) }
//! workflow! { Doubler { stages: double } }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let kernel = Kernel::builder()
//!     .store(Arc::new(InMemoryStore::new()))
//!     .registry(Registry::new().with::<Doubler>())
//!     .build()
//!     .unwrap();
//! let created = kernel.dispatch(RunCreate::new("key-1", "doubler", serde_json::json!(21))).await.unwrap();
//! assert_eq!(created.status, workflow_core::ports::Status::Pending);
//! # });
//! ```

mod annotations;
mod builder;
mod commands;
mod context;
mod dispatch;
mod error;
mod execution;
mod groups;
mod lease;
mod logs;
mod outbox;
mod retry;
mod transition;
mod unit;
mod validate;

pub use annotations::{AnnotationInput, Annotations, AttachOptions, DEFAULT_LIST_LIMIT};
pub use builder::{KernelBuilder, MissingPort};
pub use commands::*;
pub use dispatch::Command;
pub use error::KernelError;
pub use execution::{ExecuteOptions, Handoff, Interrupted, LeasedJob};
pub use retry::RetryPolicy;
pub use validate::MAX_KEY_BYTES;
pub(crate) use validate::nul_path;

use crate::ports::{
    ActivityExecutor, BlobStore, Clock, EventSink, Signal, Store, WorkflowRegistry,
};
use std::sync::Arc;
use std::time::Duration;

/// Tunables of a kernel.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// An in-progress idempotency key older than this is reclaimed (default 10 min; `None` never reclaims).
    pub idempotency_stale_in_progress: Option<Duration>,
    /// How long recording a finished stage is retried after transient store errors (a dropped
    /// connection, a deadlock) before the worker gives up and leaves the job to be re-leased (default
    /// 60 s). The stage body is never run again for such a retry.
    pub record_retry_budget: Duration,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            idempotency_stale_in_progress: Some(Duration::from_secs(600)),
            record_retry_budget: Duration::from_secs(60),
        }
    }
}

pub(crate) struct Ports {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    /// Whether `blobs` is the store's own (outputs are then written in the stage's transaction).
    pub blobs_in_store: bool,
    pub events: Arc<dyn EventSink>,
    pub clock: Arc<dyn Clock>,
    pub registry: Arc<dyn WorkflowRegistry>,
    pub executor: Arc<dyn ActivityExecutor>,
    /// The root of every stage's `ctx.ai()`.
    pub ai: crate::ai::AiHelper,
    pub config: KernelConfig,
}

/// Dispatches commands over a set of ports. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Kernel {
    ports: Arc<Ports>,
}

impl Kernel {
    /// A builder; the store and the registry are required.
    pub fn builder() -> KernelBuilder {
        KernelBuilder::default()
    }

    /// Annotation access (`attach`, `list`).
    pub fn annotations(&self) -> Annotations<'_> {
        Annotations::new(self)
    }

    /// The store every command runs on (runs, stages, jobs, outbox, keys, blobs).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.ports.store
    }

    /// The blob store stage code reads and writes (the store's own unless another one was set).
    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.ports.blobs
    }

    /// The clock commands read `now` from (`SystemClock` unless the builder set one).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.ports.clock
    }

    /// The workflows this kernel can run, by id.
    pub fn registry(&self) -> &Arc<dyn WorkflowRegistry> {
        &self.ports.registry
    }

    /// The kernel's tunables (record retry budget, ...).
    pub fn config(&self) -> &KernelConfig {
        &self.ports.config
    }

    /// Waits until `signal` fires or `max_wait` passes (see [`Store::wait`]).
    pub async fn wait(&self, signal: Signal, max_wait: Duration) {
        self.ports.store.wait(signal, max_wait).await;
    }

    pub(crate) fn ports(&self) -> &Ports {
        &self.ports
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("store", &self.ports.store.kind())
            .field("workflows", &self.ports.registry.workflow_ids())
            .finish_non_exhaustive()
    }
}
