//! Test doubles (feature `testing`): in-memory adapters of every port, a fake clock, a collecting event
//! sink, helpers to run one stage in a unit test, and the backend conformance suite.

mod blob;
mod clock;
pub mod conformance;
mod events;
mod memory;
mod stage_run;

pub use blob::InMemoryBlobStore;
pub use clock::FakeClock;
pub use events::CollectingEventSink;
pub use memory::InMemoryStore;
pub use stage_run::{StageCheckReport, StageRun, StageRunReport};
