//! Ports: the traits through which the engine reaches the outside world. Adapters implement them
//! (in-memory ones in the `workflow-testing` crate, SQL ones in `workflow-prisma-compat`).
//!
//! - [`Store`]: runs, stages, jobs, logs, annotations, the outbox, idempotency keys and blobs, with
//!   transactions ([`Tx`]) and autocommit [`Executor`]s.
//! - [`BlobStore`]: blob access for stage code ([`StoreBlobs`] serves it from a [`Store`]; `FsBlobStore`
//!   keeps blobs on disk instead).
//! - [`RunQueries`]: the read-only queries of tools and status pages (a supertrait of [`Executor`]).
//! - [`AiCallLog`], [`EventSink`], [`Clock`], [`WorkflowRegistry`], [`ActivityExecutor`].

pub(crate) mod ai_calls;
mod annotation_records;
pub(crate) mod blob;
pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod events;
pub(crate) mod executor;
pub(crate) mod jobs;
pub(crate) mod queries;
pub(crate) mod records;
pub(crate) mod registry;
pub(crate) mod status;
pub(crate) mod store;
mod writes;

pub use ai_calls::AiCallLog;
pub use blob::keys as blob_keys;
pub use blob::{BlobStore, StoreBlobs};
pub use clock::{Clock, SystemClock};
pub use error::StoreError;
pub use events::{EventEnvelope, EventError, EventKind, EventSink, WorkflowEvent};
pub use executor::{Activity, ActivityExecutor, ActivityResult, LocalExecutor};
pub use jobs::{
    ClaimedJob, JobClaim, JobEnd, JobLease, JobRecord, NewJob, StaleJobs, SuspendedJobEnd,
    UnreadableJob, claim_starts_stage,
};
pub use queries::{RunCount, RunFilter, RunQueries};
pub use records::*;
pub use registry::{Registry, WorkflowRegistry};
pub use status::Status;
pub use store::{Executor, GroupStart, Signal, StageWrite, StageWritten, Store, Tx, blob_run_id};
pub use writes::{in_progress_marker, is_in_progress_marker};
