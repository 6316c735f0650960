//! The document processor of the upstream README, declared with `workflow!` over stages from the
//! `workflow_examples` library crate.
//!
//! Run with `cargo run --example document_processor`.

use workflow_core::prelude::*;
use workflow_examples::document::{
    DocInput, aggregate, extract_text, keywords, sentiment, summarize,
};

workflow! {
    /// Extracts, summarizes and analyzes documents.
    pub DocumentProcessor = "document-processor" {
        name: "Document Processor",
        input: DocInput,
        stages: extract_text >> summarize >> (sentiment | keywords) >> aggregate,
    }
}

fn main() {
    let definition = DocumentProcessor::definition();
    println!("workflow {} ({})", definition.id(), definition.name());
    for (group, stages) in definition.execution_plan().iter().enumerate() {
        println!("  group {}: {}", group + 1, stages.join(" | "));
    }
    println!("default config: {}", definition.default_config());
}
