//! The document processor of the upstream README, declared with `workflow!` over stages from the
//! `workflow_examples` library crate, run end to end by a worker host on a real database.
//!
//! ```sh
//! cargo run --example document_processor                      # SQLite file ./document_processor.db
//! cargo run --example document_processor -- --database-url postgres://postgres@127.0.0.1:5432/test
//! DATABASE_URL=postgres://… cargo run --example document_processor
//! cargo run --example document_processor -- --help
//! ```
//!
//! The SQLite file is created and migrated on first run; no server is needed. PostgreSQL databases are
//! migrated the same way (the schema is the one Prisma creates for `@bratsos/workflow-engine`).

use clap::Parser;
use clap::builder::PossibleValuesParser;
use std::process::ExitCode;
use tokio::sync::oneshot;
use tracing_subscriber::EnvFilter;
use workflow_core::events::BroadcastEventSink;
use workflow_core::hosts::{HostConfig, WaitOptions, WorkerHost};
use workflow_core::kernel::{Kernel, OutboxFlush, RunCreate};
use workflow_core::ports::{EventEnvelope, EventKind, Registry, Status};
use workflow_examples::document::{DocInput, DocumentReport, LIBRARY};

#[path = "workflow.rs"]
mod workflow;
use workflow::DocumentProcessor;

/// Runs the document processor once and prints its progress and typed output.
#[derive(Parser)]
#[command(
    about = "Runs the document processor of the upstream README once, on SQLite or PostgreSQL."
)]
struct Args {
    /// Where runs are stored: `sqlite:<path>` (created and migrated if missing) or
    /// `postgres://user@host/database`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite:document_processor.db"
    )]
    database_url: String,
    /// The document to process, from the example's built-in library (it needs no network).
    #[arg(
        long,
        default_value = LIBRARY[0].0,
        value_parser = PossibleValuesParser::new(LIBRARY.iter().map(|(url, _)| *url)),
    )]
    document: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    // `RUST_LOG=info` shows the engine's spans (command, worker, job, stage) and events; warnings otherwise.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match process(Args::parse()).await {
        Ok(report) => {
            println!("summary:   {}", report.summary);
            println!(
                "sentiment: {} ({:+.2})",
                report.sentiment.label, report.sentiment.score
            );
            println!("keywords:  {}", report.keywords.join(", "));
            println!("words:     {}", report.word_count);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Opens (creating and migrating) the database, runs one document through the workflow with a worker host,
/// prints progress, and returns the typed report.
async fn process(args: Args) -> Result<DocumentReport, Box<dyn std::error::Error>> {
    let db = workflow_prisma_compat::open(&args.database_url).await?;
    println!(
        "database {}",
        workflow_prisma_compat::store_url(&args.database_url)
    );

    // `summarize` calls its model through `ctx.ai()`; here the model is a local mock speaking OpenAI's
    // format (no network, no key), priced as gemini-2.5-flash.
    let mock = workflow_examples::mock_llm::start().await?;
    let events = std::sync::Arc::new(BroadcastEventSink::new(1024));
    let kernel = Kernel::builder()
        .store(db.store.clone())
        .ai(workflow_examples::mock_llm::ai_setup(&mock))
        .event_sink(events.clone())
        .registry(Registry::new().with::<DocumentProcessor>())
        .build()?;

    // A fresh idempotency key per invocation: the database outlives this process, and a fixed key would
    // replay the first invocation's run.
    let input = DocInput {
        url: args.document.clone(),
    };
    let command = RunCreate::of(workflow_core::ids::uuid(), DocumentProcessor, &input)
        .config(serde_json::json!({ "keywords": { "topK": 4 } }));
    let run_id = kernel.dispatch(command).await?.workflow_run_id;
    println!("processing {} as run {run_id}", input.url);

    // Print this run's progress as the outbox delivers it (the database may hold other runs' events).
    let (stop_printer, stopped) = oneshot::channel();
    let printer = tokio::spawn(print_progress(events.subscribe(), run_id.clone(), stopped));

    // The defaults: new runs and jobs wake the host at once; the 10 s tick is only a fallback.
    let host = WorkerHost::new(kernel.clone(), HostConfig::new("example-worker"));
    let summary = host
        .run_until_finished(&run_id, WaitOptions::default(), |stages| {
            let line: Vec<String> = stages
                .iter()
                .map(|s| format!("{}={}", s.stage_id, s.status))
                .collect();
            println!("stages: {}", line.join(" "));
        })
        .await?;
    // Deliver the events the last tick left in the outbox, then let the printer drain them.
    while kernel
        .dispatch(OutboxFlush { max_events: None })
        .await?
        .published
        > 0
    {}
    let _ = stop_printer.send(());
    printer.await?;

    println!(
        "run {run_id} {} in {} ms, cost ${:.6}, {} tokens",
        summary.status,
        summary.duration.unwrap_or_default(),
        summary.total_cost,
        summary.total_tokens
    );
    // Every model call is a row of `ai_calls` under the run's topic; the run's totals are their sums.
    for call in db
        .ai_calls
        .ai_calls_by_topic(&format!("workflow.{run_id}."))
        .await?
    {
        println!(
            "ai call  {} {} via {}: {} in / {} out tokens, ${:.6}",
            call.topic,
            call.model_key,
            call.model_id,
            call.input_tokens,
            call.output_tokens,
            call.cost
        );
    }
    if summary.status != Status::Completed {
        let stages = kernel
            .store()
            .executor()
            .await?
            .stages_by_run(&run_id)
            .await?;
        let failures: Vec<String> = stages
            .into_iter()
            .filter_map(|s| Some(format!("stage {}: {}", s.stage_id, s.error_message?)))
            .collect();
        return Err(format!("run {run_id} {}: {}", summary.status, failures.join("; ")).into());
    }
    Ok(summary.typed_output(DocumentProcessor)?)
}

/// Prints the progress events of `run_id` until `stop` fires, then drains what is already delivered.
async fn print_progress(
    mut events: tokio::sync::broadcast::Receiver<EventEnvelope>,
    run_id: workflow_core::ids::RunId,
    mut stop: oneshot::Receiver<()>,
) {
    let print = |envelope: EventEnvelope| {
        if envelope.workflow_run_id != run_id {
            return;
        }
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
    };
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(envelope) => print(envelope),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            },
            _ = &mut stop => break,
        }
    }
    while let Ok(envelope) = events.try_recv() {
        print(envelope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow_core::ports::RunFilter;

    /// The README's first command: a SQLite file is created and migrated on first run, reused on the next.
    #[tokio::test]
    async fn runs_on_a_fresh_sqlite_file_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("document_processor.db");
        let args = |document: &str| Args {
            database_url: format!("sqlite:{}", path.display()),
            document: document.to_owned(),
        };

        let report = process(args(LIBRARY[0].0)).await.unwrap();
        assert_eq!(report.sentiment.label, "positive");
        assert_eq!(report.keywords.len(), 4, "the run's config asks for topK 4");
        assert!(path.exists(), "the database file is created");

        let report = process(args(LIBRARY[1].0)).await.unwrap();
        assert_eq!(report.sentiment.label, "negative");

        let db = workflow_prisma_compat::open(path.to_str().unwrap())
            .await
            .unwrap();
        let runs = db
            .store
            .executor()
            .await
            .unwrap()
            .list_runs(&RunFilter::default())
            .await
            .unwrap();
        assert_eq!(
            runs.len(),
            2,
            "each invocation is a new run in the same file"
        );
        assert!(runs.iter().all(|run| run.status == Status::Completed));
        // `summarize` called the mock model once per run through `ctx.ai()`: one ai_calls row under the
        // stage's topic, and the run's totals are that row's cost and tokens.
        for run in &runs {
            let calls = db
                .ai_calls
                .ai_calls_by_topic(&format!("workflow.{}.", run.id))
                .await
                .unwrap();
            assert_eq!(calls.len(), 1, "{calls:?}");
            let call = &calls[0];
            assert_eq!(call.topic, format!("workflow.{}.stage.summarize", run.id));
            assert_eq!(
                (call.call_type.as_str(), call.model_key.as_str()),
                ("text", "gemini-2.5-flash")
            );
            assert!(
                call.input_tokens > 0 && call.output_tokens > 0 && call.cost > 0.0,
                "{call:?}"
            );
            assert!(
                (run.total_cost - call.cost).abs() < 1e-12,
                "{} vs {}",
                run.total_cost,
                call.cost
            );
            assert_eq!(run.total_tokens, call.input_tokens + call.output_tokens);
        }
    }

    /// With `RUST_LOG=info` the subscriber the example installs shows each stage's events inside a `job`
    /// span (run id, stage id, job id, attempt, worker) and each command in a `command` span.
    #[tokio::test]
    async fn info_logs_carry_the_job_and_command_spans() {
        #[derive(Clone, Default)]
        struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // Global: the worker's tasks may run on other threads. No other test of this binary sets one.
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

        let dir = tempfile::tempdir().unwrap();
        let args = Args {
            database_url: format!("sqlite:{}", dir.path().join("traced.db").display()),
            document: LIBRARY[0].0.to_owned(),
        };
        process(args).await.unwrap();

        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        for stage in [
            "extract-text",
            "summarize",
            "sentiment",
            "keywords",
            "aggregate",
        ] {
            let line = logs
                .lines()
                .find(|line| {
                    line.contains(&format!("stage_id={stage} "))
                        && line.ends_with("stage completed")
                })
                .unwrap_or_else(|| panic!("no `stage completed` event of {stage} in:\n{logs}"));
            assert!(
                line.contains("worker{worker_id=example-worker}") && line.contains("job{run_id="),
                "{line}"
            );
            assert!(
                line.contains(" attempt=1 worker_id=example-worker}"),
                "{line}"
            );
        }
        assert!(logs.contains("command{command=\"run.create\""), "{logs}");
    }

    #[tokio::test]
    async fn an_unsupported_url_is_refused_by_name() {
        let error = process(Args {
            database_url: "mysql://db/workflows".into(),
            document: LIBRARY[0].0.into(),
        })
        .await
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("unsupported database URL \"mysql://db/workflows\""),
            "{error}"
        );
    }
}
