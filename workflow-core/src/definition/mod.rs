//! The definition layer: what users write (`#[stage]` fns and `workflow!`s) and the types behind it.

pub(crate) mod checks;
pub(crate) mod config;
mod config_check;
pub(crate) mod context;
pub(crate) mod dyn_stage;
pub(crate) mod error;
pub(crate) mod outputs;
pub mod presets;
pub(crate) mod record;
pub(crate) mod stage;
pub(crate) mod storage;
pub(crate) mod workflow;
