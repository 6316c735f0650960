//! Test doubles (feature `testing`): in-memory adapters of the ports and helpers to run one stage in a unit
//! test.

mod blob;
mod stage_run;

pub use blob::InMemoryBlobStore;
pub use stage_run::{StageCheckReport, StageRun, StageRunReport};
