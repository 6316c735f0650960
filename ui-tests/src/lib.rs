//! Compile-pass and compile-fail tests of the `#[stage]` and `workflow!` macros; see `tests/ui.rs`.
