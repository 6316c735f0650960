//! The document processor of the upstream README: `extract-text >> summarize >> (sentiment | keywords) >>
//! aggregate`. The stages are deterministic so the example runs anywhere; `summarize` calls a model through
//! `ctx.ai()` (the examples serve it from a local mock, [`crate::mock_llm`]), so the run's cost totals are
//! real sums of logged calls.

mod analysis;
mod extract;
mod report;
mod summary;
mod types;

pub use analysis::{keywords, sentiment};
pub use extract::{LIBRARY, extract_text};
pub use report::aggregate;
pub use summary::summarize;
pub use types::*;
