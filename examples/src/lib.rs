//! Stages shared by the runnable examples. They live in this library crate while the workflows that chain
//! them are declared in the example binaries: stages and workflows may live in different crates.

pub mod document;
pub mod mock_llm;
