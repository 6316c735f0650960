//! [`KernelBuilder`].

use super::{Kernel, KernelConfig, Ports};
use crate::events::TracingEventSink;
use crate::ports::{
    ActivityExecutor, BlobStore, Clock, EventSink, JobTransport, LocalExecutor, Persistence,
    StoragePorts, SystemClock, WorkflowRegistry,
};
use std::sync::Arc;

/// A required port was not given to the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the kernel needs a {0}; set it with KernelBuilder::{0}(..)")]
pub struct MissingPort(pub &'static str);

/// Assembles a [`Kernel`]. The clock defaults to [`SystemClock`], the executor to [`LocalExecutor`] and the
/// event sink to [`TracingEventSink`].
#[derive(Default)]
pub struct KernelBuilder {
    persistence: Option<Arc<dyn Persistence>>,
    blobs: Option<Arc<dyn BlobStore>>,
    jobs: Option<Arc<dyn JobTransport>>,
    events: Option<Arc<dyn EventSink>>,
    clock: Option<Arc<dyn Clock>>,
    registry: Option<Arc<dyn WorkflowRegistry>>,
    executor: Option<Arc<dyn ActivityExecutor>>,
    config: KernelConfig,
}

impl KernelBuilder {
    /// Runs, stages, logs, annotations, outbox and idempotency keys.
    #[must_use]
    pub fn persistence(mut self, persistence: Arc<dyn Persistence>) -> Self {
        self.persistence = Some(persistence);
        self
    }

    /// The job queue.
    #[must_use]
    pub fn job_transport(mut self, jobs: Arc<dyn JobTransport>) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// Persistence, job transport and blob store at once.
    #[must_use]
    pub fn storage(self, ports: StoragePorts) -> Self {
        self.persistence(ports.persistence)
            .job_transport(ports.jobs)
            .blob_store(ports.blobs)
    }

    /// Stage outputs and artifacts.
    #[must_use]
    pub fn blob_store(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// Where `outbox.flush` delivers events.
    #[must_use]
    pub fn event_sink(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = Some(events);
        self
    }

    /// The time source.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The workflows the kernel can run.
    #[must_use]
    pub fn registry(mut self, registry: impl WorkflowRegistry + 'static) -> Self {
        self.registry = Some(Arc::new(registry));
        self
    }

    /// The workflows the kernel can run, shared.
    #[must_use]
    pub fn shared_registry(mut self, registry: Arc<dyn WorkflowRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Where stage bodies run.
    #[must_use]
    pub fn executor(mut self, executor: Arc<dyn ActivityExecutor>) -> Self {
        self.executor = Some(executor);
        self
    }

    /// Tunables.
    #[must_use]
    pub fn config(mut self, config: KernelConfig) -> Self {
        self.config = config;
        self
    }

    /// The kernel, or the first missing required port.
    pub fn build(self) -> Result<Kernel, MissingPort> {
        let ports = Ports {
            persistence: self.persistence.ok_or(MissingPort("persistence"))?,
            jobs: self.jobs.ok_or(MissingPort("job_transport"))?,
            blobs: self.blobs.ok_or(MissingPort("blob_store"))?,
            registry: self.registry.ok_or(MissingPort("registry"))?,
            events: self.events.unwrap_or_else(|| Arc::new(TracingEventSink)),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            executor: self.executor.unwrap_or_else(|| Arc::new(LocalExecutor)),
            config: self.config,
        };
        Ok(Kernel {
            ports: Arc::new(ports),
        })
    }
}
