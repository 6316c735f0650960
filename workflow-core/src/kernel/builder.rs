//! [`KernelBuilder`].

use super::{Kernel, KernelConfig, Ports};
use crate::ai::{AiCallLogger, AiHelper, AiSetup};
use crate::events::TracingEventSink;
use crate::ports::{
    ActivityExecutor, BlobStore, Clock, EventSink, LocalExecutor, Store, StoreBlobs, SystemClock,
    WorkflowRegistry,
};
use std::sync::Arc;

/// A required port was not given to the builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the kernel needs a {0}; set it with KernelBuilder::{0}(..)")]
pub struct MissingPort(pub &'static str);

/// Assembles a [`Kernel`]. The clock defaults to [`SystemClock`], the executor to [`LocalExecutor`], the
/// event sink to [`TracingEventSink`] and the blob store to the store's own blobs.
#[derive(Default)]
pub struct KernelBuilder {
    store: Option<Arc<dyn Store>>,
    blobs: Option<Arc<dyn BlobStore>>,
    events: Option<Arc<dyn EventSink>>,
    clock: Option<Arc<dyn Clock>>,
    registry: Option<Arc<dyn WorkflowRegistry>>,
    executor: Option<Arc<dyn ActivityExecutor>>,
    ai: Option<AiSetup>,
    ai_calls: Option<AiCallLogger>,
    config: KernelConfig,
}

impl KernelBuilder {
    /// Where runs, stages, jobs, events, keys and (unless [`blob_store`](KernelBuilder::blob_store) is
    /// set) blobs are kept.
    #[must_use]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Keeps stage outputs, artifacts and stage storage in `blobs` instead of the store (for example a
    /// [`FsBlobStore`](crate::adapters::FsBlobStore)). Outputs are then written before the stage's
    /// transaction, under per-attempt keys, rather than inside it.
    #[must_use]
    pub fn blob_store(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// Where the outbox relay delivers events.
    #[must_use]
    pub fn event_sink(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = Some(events);
        self
    }

    /// Sets the clock commands read `now` from (default the system clock; tests pass a `FakeClock`).
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

    /// The models and providers `ctx.ai()` calls (default [`AiSetup::default`]: the built-in models,
    /// API keys from the environment).
    #[must_use]
    pub fn ai(mut self, config: AiSetup) -> Self {
        self.ai = Some(config);
        self
    }

    /// Where `ctx.ai()` logs calls (default the store's own `ai_calls` table, [`Store::ai_call_log`]).
    #[must_use]
    pub fn ai_call_logger(mut self, logger: AiCallLogger) -> Self {
        self.ai_calls = Some(logger);
        self
    }

    /// Sets the kernel's tunables (default `KernelConfig::default()`).
    #[must_use]
    pub fn config(mut self, config: KernelConfig) -> Self {
        self.config = config;
        self
    }

    /// The kernel, or the first missing required port.
    pub fn build(self) -> Result<Kernel, MissingPort> {
        let store = self.store.ok_or(MissingPort("store"))?;
        let (blobs, blobs_in_store) = match self.blobs {
            Some(blobs) => (blobs, false),
            None => (
                Arc::new(StoreBlobs(store.clone())) as Arc<dyn BlobStore>,
                true,
            ),
        };
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let ai_calls = self.ai_calls.or_else(|| {
            let log = store.clone().ai_call_log()?;
            Some(AiCallLogger::new(log, clock.clone()))
        });
        let ai = AiHelper::root(Arc::new(self.ai.unwrap_or_default()), ai_calls);
        let ports = Ports {
            store,
            blobs,
            blobs_in_store,
            registry: self.registry.ok_or(MissingPort("registry"))?,
            events: self.events.unwrap_or_else(|| Arc::new(TracingEventSink)),
            clock,
            ai,
            executor: self.executor.unwrap_or_else(|| Arc::new(LocalExecutor)),
            config: self.config,
        };
        Ok(Kernel {
            ports: Arc::new(ports),
        })
    }
}
