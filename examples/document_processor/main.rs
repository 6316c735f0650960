//! The document processor of the upstream README, declared with `workflow!` over stages from the
//! `workflow_examples` library crate, run end to end by a worker host.
//!
//! Run with `cargo run --example document_processor`.

use std::sync::Arc;
use std::time::Duration;
use workflow_core::events::BroadcastEventSink;
use workflow_core::hosts::{HostConfig, WaitOptions, WorkerHost};
use workflow_core::kernel::{Kernel, RunCreate};
use workflow_core::ports::{EventKind, Registry};
use workflow_core::prelude::*;
use workflow_core::testing::InMemoryStore;
use workflow_examples::document::{
    DocInput, DocumentReport, aggregate, extract_text, keywords, sentiment, summarize,
};

workflow! {
    /// Extracts, summarizes and analyzes documents.
    pub DocumentProcessor = "document-processor" {
        name: "Document Processor",
        input: DocInput,
        stages: extract_text >> summarize >> (sentiment | keywords) >> aggregate,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = Arc::new(InMemoryStore::new());
    let events = Arc::new(BroadcastEventSink::new(1024));
    let kernel = Kernel::builder()
        .persistence(store.clone())
        .job_transport(store.clone())
        .blob_store(store.clone())
        .event_sink(events.clone())
        .registry(Registry::new().with::<DocumentProcessor>())
        .build()?;

    // Print progress as the outbox delivers it.
    let mut subscription = events.subscribe();
    tokio::spawn(async move {
        while let Ok(envelope) = subscription.recv().await {
            if let Ok(event) = envelope.event()
                && let EventKind::StageProgress {
                    stage_id,
                    progress,
                    message,
                    ..
                } = event.kind
            {
                println!("  [{stage_id}] {:>3.0}% {message}", progress * 100.0);
            }
        }
    });

    let config = HostConfig {
        orchestration_interval: Duration::from_millis(50),
        ..HostConfig::new("example-worker")
    };
    let host = WorkerHost::new(kernel, config);
    let input = DocInput {
        url: "https://example.com/rust-release.txt".into(),
    };
    let command = RunCreate::of("document-processor-example", DocumentProcessor, &input)
        .config(serde_json::json!({ "keywords": { "topK": 4 } }));
    println!("processing {}", input.url);
    let summary = host
        .run_and_wait(command, WaitOptions::default(), |stages| {
            let line: Vec<String> = stages
                .iter()
                .map(|s| format!("{}={}", s.stage_id, s.status))
                .collect();
            println!("stages: {}", line.join(" "));
        })
        .await?;
    // Let the last events reach the printer.
    tokio::time::sleep(Duration::from_millis(120)).await;

    println!(
        "run {} {} in {} ms",
        summary.run_id,
        summary.status,
        summary.duration.unwrap_or_default()
    );
    println!(
        "cost ${:.6}, {} tokens",
        summary.total_cost, summary.total_tokens
    );
    let report: DocumentReport = summary.typed_output(DocumentProcessor)?;
    println!("summary:   {}", report.summary);
    println!(
        "sentiment: {} ({:+.2})",
        report.sentiment.label, report.sentiment.score
    );
    println!("keywords:  {}", report.keywords.join(", "));
    println!("words:     {}", report.word_count);
    Ok(())
}
