//! The command kernel: a pure dispatcher over the ports, with the eleven commands of the TypeScript engine
//! as typed structs. It holds no timers; hosts drive it.
//!
//! ```
//! use std::sync::Arc;
//! use workflow_core::kernel::{Kernel, RunCreate};
//! use workflow_core::ports::Registry;
//! use workflow_core::prelude::*;
//! use workflow_core::testing::InMemoryStore;
//!
//! #[stage]
//! async fn double(input: u32) -> Result<u32, StageError> { Ok(input * 2) }
//! workflow! { Doubler { stages: double } }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = Arc::new(InMemoryStore::new());
//! let kernel = Kernel::builder()
//!     .persistence(store.clone())
//!     .job_transport(store.clone())
//!     .blob_store(store.clone())
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
mod groups;
mod logs;
mod outbox;

pub use annotations::{AnnotationInput, Annotations, AttachOptions, DEFAULT_LIST_LIMIT};
pub use builder::{KernelBuilder, MissingPort};
pub use commands::*;
pub use dispatch::Command;
pub use error::KernelError;

use crate::ports::{
    ActivityExecutor, BlobStore, Clock, EventSink, JobTransport, Persistence, WorkflowRegistry,
};
use std::sync::Arc;
use std::time::Duration;

/// Tunables of a kernel.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// An in-progress idempotency key older than this is reclaimed (default 10 min; `None` never reclaims).
    pub idempotency_stale_in_progress: Option<Duration>,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            idempotency_stale_in_progress: Some(Duration::from_secs(600)),
        }
    }
}

pub(crate) struct Ports {
    pub persistence: Arc<dyn Persistence>,
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Arc<dyn JobTransport>,
    pub events: Arc<dyn EventSink>,
    pub clock: Arc<dyn Clock>,
    pub registry: Arc<dyn WorkflowRegistry>,
    pub executor: Arc<dyn ActivityExecutor>,
    pub config: KernelConfig,
}

/// Dispatches commands over a set of ports. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Kernel {
    ports: Arc<Ports>,
}

impl Kernel {
    /// A builder; persistence, job transport, blob store and registry are required.
    pub fn builder() -> KernelBuilder {
        KernelBuilder::default()
    }

    /// Annotation access (`attach`, `list`).
    pub fn annotations(&self) -> Annotations<'_> {
        Annotations::new(self)
    }

    /// The persistence port.
    pub fn persistence(&self) -> &Arc<dyn Persistence> {
        &self.ports.persistence
    }

    /// The job transport.
    pub fn job_transport(&self) -> &Arc<dyn JobTransport> {
        &self.ports.jobs
    }

    /// The blob store.
    pub fn blob_store(&self) -> &Arc<dyn BlobStore> {
        &self.ports.blobs
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.ports.clock
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<dyn WorkflowRegistry> {
        &self.ports.registry
    }

    pub(crate) fn ports(&self) -> &Ports {
        &self.ports
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("workflows", &self.ports.registry.workflow_ids())
            .finish_non_exhaustive()
    }
}
