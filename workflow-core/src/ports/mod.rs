//! Ports: the traits through which the engine reaches the outside world. Adapters implement them
//! (in-memory ones in [`crate::testing`], SQL ones in `workflow-prisma-compat`).

pub mod blob;
pub mod clock;
pub mod error;
pub mod events;
pub mod executor;
pub mod jobs;
pub mod persistence;
pub mod records;
pub mod registry;
pub mod status;
mod storage;

pub use blob::BlobStore;
pub use clock::{Clock, SystemClock};
pub use error::StoreError;
pub use events::{EventEnvelope, EventError, EventKind, EventSink, WorkflowEvent};
pub use executor::{Activity, ActivityExecutor, ActivityResult, LocalExecutor};
pub use jobs::{JobLease, JobRecord, JobTransport, NewJob, SuspendedJobEnd};
pub use persistence::{Persistence, Session};
pub use records::*;
pub use registry::{Registry, WorkflowRegistry};
pub use status::Status;
pub use storage::StoragePorts;
