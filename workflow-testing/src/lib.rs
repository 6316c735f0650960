//! Test doubles for the typed workflow engine. Add it under `[dev-dependencies]`; nothing here belongs in
//! a production build.
//!
//! - [`InMemoryStore`] (every port of [`workflow_core::ports`], transactional, indexed), [`InMemoryBlobStore`],
//!   [`FakeClock`] (time moves only when the test says so) and [`CollectingEventSink`] (keeps every
//!   published event for assertions).
//! - [`StageRun`]: runs one stage's body (or its `check_completion`) with a typed input, config, outputs of
//!   earlier stages and resume state, and reports the result with everything it logged.
//! - [`conformance`]: the backend conformance suite. A store crate runs every scenario on its backend with
//!   [`conformance_suite!`]; `tests/scenario_list.rs` checks that no scenario fn is missing from the list.

mod blob;
mod clock;
pub mod conformance;
mod events;
mod memory;
mod scripted_model;
mod stage_run;

pub use blob::InMemoryBlobStore;
pub use clock::FakeClock;
pub use events::CollectingEventSink;
pub use memory::InMemoryStore;
pub use scripted_model::ScriptedModel;
pub use stage_run::{StageCheckReport, StageRun, StageRunReport};
