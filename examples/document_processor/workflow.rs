//! The document processor workflow, shared by the `document_processor` example, the `document-wf` binary
//! and the tests (the stages come from the `workflow_examples` library crate).

use workflow_core::workflow;
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
