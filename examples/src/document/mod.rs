//! The document processor of the upstream README: `extract-text >> summarize >> (sentiment | keywords) >>
//! aggregate`. The stages are deterministic (no network, no model calls) so the example runs anywhere; the
//! summarizer records a simulated AI usage so the run's cost totals are visible.

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
