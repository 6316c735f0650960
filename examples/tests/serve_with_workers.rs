//! `document-wf serve` streams the outbox over SSE while two `document-wf worker` processes run the
//! workflows (SQLite and PostgreSQL): each run's stream has every event once, in sequence order,
//! whichever worker wrote it; a reconnect with `Last-Event-ID` resumes without gaps or repeats; the feed
//! of all runs has every run's events once and in order; `POST` cancel without the bearer token is 401;
//! rerun through the CLI process runs the stages again; `/metrics` is served.

#[path = "../document_processor/workflow.rs"]
mod workflow;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use workflow::DocumentProcessor;
use workflow_core::kernel::{Kernel, RunCreate};
use workflow_core::ports::{Registry, Status};
use workflow_core::query::Queries;
use workflow_examples::document::{DocInput, LIBRARY};
use workflow_prisma_compat::testing::PostgresBackend;

const TOKEN: &str = "test-token";

/// A child process killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn document_wf(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_document-wf"));
    command
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("WF_API_TOKEN", TOKEN)
        .env("RUST_LOG", "warn");
    command
}

/// Starts `serve` on a free port and returns it with its address.
fn serve(url: &str) -> (Process, String) {
    let mut child = document_wf(url, &["serve", "--bind", "127.0.0.1:0", "--poll-ms", "50"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("document-wf serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve prints its address").unwrap();
        if let Some(addr) = line.strip_prefix("wf serve: listening on ") {
            // `http://127.0.0.1:PORT`
            break addr.to_owned();
        }
    };
    std::thread::spawn(move || {
        lines.for_each(|line| eprintln!("serve: {}", line.unwrap_or_default()))
    });
    (Process(child), addr)
}

/// Reads SSE events from `response` until one of type `until` (inclusive) or `count` events arrived.
async fn read_events(
    mut response: reqwest::Response,
    until: Option<&str>,
    count: usize,
) -> Vec<(String, String, Value)> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while events.len() < count {
        assert!(
            Instant::now() < deadline,
            "the stream stalled after {} events",
            events.len()
        );
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .expect("the stream sends within 30 s")
            .expect("the stream stays open")
            .expect("the stream does not end");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut kind, mut data) = (None, None, None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("event:") {
                    kind = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(serde_json::from_str::<Value>(v.trim()).expect("data is JSON"));
                }
            }
            if let (Some(id), Some(kind), Some(data)) = (id, kind, data) {
                let last = until == Some(kind.as_str());
                events.push((id, kind, data));
                if last {
                    return events;
                }
            }
        }
    }
    events
}

async fn get_text(http: &reqwest::Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

async fn wait_finished(queries: &Queries, runs: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(90);
    for run in runs {
        loop {
            let view = queries.run(run).await.unwrap().unwrap();
            if view.run.status.is_terminal() {
                assert_eq!(view.run.status, Status::Completed, "run {run}");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "run {run} did not finish: {:?}",
                view.run.status
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn exercise(url: &str) {
    assert!(document_wf(url, &["migrate"]).status().unwrap().success());
    let (_serve, addr) = serve(url);
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let worker_args = |id: &'static str| {
        let mut args = vec!["worker", "--worker-id", id, "--concurrency", "1"];
        if id == "w1" {
            args.extend(["--metrics-addr", metrics_addr.as_str()]);
        }
        args
    };
    let _workers: Vec<Process> = ["w1", "w2"]
        .into_iter()
        .map(|id| {
            Process(
                document_wf(url, &worker_args(id))
                    .spawn()
                    .expect("a worker starts"),
            )
        })
        .collect();
    let http = reqwest::Client::new();
    let base = addr;
    let db = workflow_prisma_compat::open(url).await.unwrap();
    let queries = Queries::new(db.store.clone());
    let kernel = Kernel::builder()
        .store(db.store.clone())
        .registry(Registry::new().with::<DocumentProcessor>())
        .build()
        .unwrap();
    let feed = http
        .get(format!("{base}/api/events/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);

    let mut runs = Vec::new();
    let mut streams = Vec::new();
    for n in 0..12 {
        let input = DocInput {
            url: LIBRARY[n % LIBRARY.len()].0.to_owned(),
        };
        let created = kernel
            .dispatch(RunCreate::of(
                workflow_core::ids::uuid(),
                DocumentProcessor,
                &input,
            ))
            .await
            .unwrap();
        let run = created.workflow_run_id.to_string();
        let stream = http
            .get(format!("{base}/api/runs/{run}/events/stream"))
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200, "the stream of {run} opens");
        streams.push(stream);
        runs.push(run);
    }
    let mut streamed = Vec::new();
    for stream in streams {
        streamed.push(read_events(stream, Some("workflow:completed"), usize::MAX).await);
    }
    wait_finished(&queries, &runs).await;

    let mut workers = BTreeSet::new();
    let mut total = 0;
    for (run, events) in runs.iter().zip(&streamed) {
        let stored = queries.events(run, 0, 1000).await.unwrap();
        let expected: Vec<(String, String)> = stored
            .iter()
            .map(|e| (e.sequence.to_string(), e.event_type.clone()))
            .collect();
        let got: Vec<(String, String)> = events
            .iter()
            .map(|(id, kind, _)| (id.clone(), kind.clone()))
            .collect();
        assert_eq!(got, expected, "run {run}: every event once, by sequence");
        assert!(events.iter().all(|(id, _, data)| {
            data["sequence"].as_i64().map(|s| s.to_string()).as_deref() == Some(id.as_str())
        }));
        total += stored.len();
        for job in db
            .store
            .executor()
            .await
            .unwrap()
            .jobs_by_run(run)
            .await
            .unwrap()
        {
            workers.extend(job.worker_id);
        }
    }
    eprintln!("jobs were run by {workers:?}");
    assert_eq!(
        workers,
        BTreeSet::from(["w1".to_owned(), "w2".to_owned()]),
        "both workers ran stages"
    );

    // Resume the first run's stream after its second event: the rest, nothing twice.
    let first = &runs[0];
    let resumed = http
        .get(format!("{base}/api/runs/{first}/events/stream"))
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap();
    let rest = read_events(resumed, Some("workflow:completed"), usize::MAX).await;
    let tail: Vec<&String> = streamed[0][2..].iter().map(|(id, _, _)| id).collect();
    assert_eq!(rest.iter().map(|(id, _, _)| id).collect::<Vec<_>>(), tail);

    // The feed of all runs: every run's events once, in sequence order.
    let fed = read_events(feed, None, total).await;
    let mut per_run: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (_, _, data) in &fed {
        per_run
            .entry(data["workflowRunId"].as_str().unwrap().to_owned())
            .or_default()
            .push(data["sequence"].as_i64().unwrap());
    }
    for (run, events) in runs.iter().zip(&streamed) {
        assert_eq!(
            per_run[run],
            (1..=events.len() as i64).collect::<Vec<_>>(),
            "feed of {run}"
        );
    }

    // Mutating routes need the token.
    let cancel = format!("{base}/api/runs/{first}/cancel");
    assert_eq!(http.post(&cancel).send().await.unwrap().status(), 401);
    assert_eq!(
        http.post(&cancel)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let answer: Value = http
        .post(&cancel)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer["cancelled"], false,
        "a completed run is not cancelled"
    );
    let missing = http
        .get(format!("{base}/api/runs/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // Rerun through the CLI process; the workers run the stages again.
    let rerun = document_wf(
        url,
        &["--json", "runs", "rerun", first, "--from", "summarize"],
    )
    .output()
    .unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let rerun: Value = serde_json::from_slice(&rerun.stdout).unwrap();
    assert_eq!(rerun["fromStageId"], "summarize");
    wait_finished(&queries, std::slice::from_ref(first)).await;
    let view = queries.run(first).await.unwrap().unwrap();
    assert!(
        view.stages
            .iter()
            .any(|s| s.stage_id == "summarize" && s.attempt == 1),
        "{:?}",
        view.stages
    );

    let page: Value = http
        .get(format!("{base}/api/runs?limit=5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["runs"].as_array().unwrap().len(), 5);
    assert!(page["nextCursor"].is_string());
    let metrics = get_text(&http, &format!("{base}/metrics")).await;
    assert!(
        metrics.contains("workflow_runs{status=\"COMPLETED\"}"),
        "{metrics}"
    );
    let worker = get_text(&http, &format!("http://{metrics_addr}/metrics")).await;
    for line in [
        "workflow_stages_executed_total{outcome=\"completed\"}",
        "workflow_stage_duration_seconds",
        "workflow_job_claim_duration_seconds",
        "workflow_outbox_lag_seconds",
        "workflow_queue_depth{status=\"PENDING\"}",
    ] {
        assert!(
            worker.contains(line),
            "worker metrics lack {line}: {worker}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_streams_two_workers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&format!("sqlite:{}", dir.path().join("docs.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_streams_two_workers_on_postgres() {
    let Some(backend) = PostgresBackend::from_env(module_path!()) else {
        return;
    };
    exercise(&backend.schema_url("").await).await;
    workflow_testing::conformance::BackendFactory::cleanup(&backend).await;
}
