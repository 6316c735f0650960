//! `use workflow_core::prelude::*;` brings in what stage and workflow code needs: the macros, the context
//! and error types, the batch types, and the serde / schemars derives.
//!
//! The derives expand to paths of the `serde` and `schemars` crates, so a crate that derives them needs
//! `serde` (with the `derive` feature) and `schemars` in its own `Cargo.toml`.

pub use crate::definition::context::{CheckContext, StageContext};
pub use crate::definition::error::StageError;
pub use crate::definition::record::{Annotation, LogLevel};
pub use crate::definition::stage::{BatchStep, Completion, NoConfig, Stage, Suspend};
pub use crate::definition::workflow::{Workflow, WorkflowIo};
pub use crate::{stage, workflow};
pub use schemars::JsonSchema;
pub use serde::{Deserialize, Serialize};
