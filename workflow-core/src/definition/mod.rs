//! The definition layer: what users write (`#[stage]` fns and `workflow!`s) and the types behind it.

pub mod checks;
pub mod config;
mod config_check;
pub mod context;
pub mod dyn_stage;
pub mod error;
pub mod outputs;
pub mod presets;
pub mod record;
pub mod stage;
pub mod storage;
pub mod workflow;
