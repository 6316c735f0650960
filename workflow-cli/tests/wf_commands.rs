//! The standalone `wf` binary as a process, on SQLite and PostgreSQL: migrate, runs list / show / cancel
//! / rerun and events, with `--json` output parsed back, and the help of every subcommand. Runs are created
//! and completed in this test process by a kernel that knows the test workflow; `wf` itself has none.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::process::{Command, Output};
use workflow_core::hosts::{HostConfig, WaitOptions, WorkerHost};
use workflow_core::kernel::{AnnotationInput, Kernel, RunCreate};
use workflow_core::ports::{Registry, Status};
use workflow_core::prelude::*;
use workflow_prisma_compat::testing::PostgresBackend;

#[derive(Clone, Debug, Serialize, Deserialize, schemars::JsonSchema)]
struct Numbers {
    value: i64,
}

/// Doubles the value.
#[stage]
async fn double(input: Numbers) -> Result<Numbers, StageError> {
    Ok(Numbers {
        value: input.value * 2,
    })
}

/// Describes the doubled value.
#[stage]
async fn describe(ctx: &StageContext, input: Numbers) -> Result<String, StageError> {
    let _ = input;
    Ok(format!("doubled: {}", ctx.require::<double>()?.value))
}

workflow! {
    /// double >> describe.
    pub Doubler = "doubler" { input: Numbers, stages: double >> describe }
}

/// Runs `wf` with `args` against `url`.
fn wf(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wf"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("wf runs")
}

/// `wf … --json` that must succeed, parsed.
fn wf_json(url: &str, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = wf(url, &all);
    assert!(output.status.success(), "wf {args:?}: {}", stderr(&output));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("wf {args:?} printed no JSON ({e}): {}", stdout(&output)))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["runs"]
        .as_array()
        .expect("a page has runs")
        .iter()
        .map(|run| run["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The whole command surface against one database.
async fn exercise(url: &str) {
    // A database nothing has migrated: tools refuse it and say what to do; `migrate` fixes it.
    let refused = wf(url, &["runs", "list"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("run `wf migrate` first"),
        "{}",
        stderr(&refused)
    );
    let status = wf_json(url, &["migrate", "status"]);
    assert_eq!(status["applied"], json!([]));
    assert_eq!(status["pending"].as_array().unwrap().len(), 1);
    let applied = wf_json(url, &["migrate"]);
    assert_eq!(applied["applied"], status["pending"]);
    assert_eq!(
        wf_json(url, &["migrate"])["applied"],
        json!([]),
        "a second migrate applies nothing"
    );

    let db = workflow_prisma_compat::open(url).await.unwrap();
    let kernel = Kernel::builder()
        .store(db.store.clone())
        .registry(Registry::new().with::<Doubler>())
        .build()
        .unwrap();
    let create =
        |value: i64| RunCreate::of(workflow_core::ids::uuid(), Doubler, &Numbers { value });
    let host = WorkerHost::new(kernel.clone(), HostConfig::new("wf-test"));
    let done = host
        .run_and_wait(create(21), WaitOptions::default(), |_| {})
        .await
        .unwrap();
    assert_eq!(done.status, Status::Completed);
    let done = done.run_id.to_string();
    let pending = kernel
        .dispatch(create(1))
        .await
        .unwrap()
        .workflow_run_id
        .to_string();
    let tagged = create(2).annotation(AnnotationInput::new("tenant", "acme"));
    let tagged = kernel
        .dispatch(tagged)
        .await
        .unwrap()
        .workflow_run_id
        .to_string();

    // list: newest id first, filters, pages.
    let mut newest_first = vec![done.clone(), pending.clone(), tagged.clone()];
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids(&wf_json(url, &["runs", "list"])), newest_first);
    let first = wf_json(
        url,
        &["runs", "list", "--status", "pending", "--limit", "1"],
    );
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = wf_json(
        url,
        &[
            "runs", "list", "--status", "pending", "--limit", "1", "--cursor", &cursor,
        ],
    );
    assert!(second["nextCursor"].is_null());
    let mut both = [ids(&first), ids(&second)].concat();
    both.sort();
    let mut expected = vec![pending.clone(), tagged.clone()];
    expected.sort();
    assert_eq!(both, expected);
    assert_eq!(
        ids(&wf_json(
            url,
            &["runs", "list", "--annotation", "tenant=acme"]
        )),
        std::slice::from_ref(&tagged)
    );
    assert_eq!(
        ids(&wf_json(url, &["runs", "list", "--workflow", "other"])),
        Vec::<String>::new()
    );
    let table = stdout(&wf(url, &["runs", "list"]));
    assert!(
        table.starts_with("ID") && table.contains("COMPLETED") && table.contains(&done),
        "{table}"
    );

    // show: stages, typed output, logs; the human form too.
    let view = wf_json(url, &["runs", "show", &done, "--logs"]);
    assert_eq!(view["run"]["status"], "COMPLETED");
    assert_eq!(view["run"]["output"], "doubled: 42");
    let stages: Vec<&str> = view["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stageId"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["double", "describe"]);
    assert!(view["logs"].is_array());
    let human = stdout(&wf(url, &["runs", "show", &done]));
    assert!(
        human.contains("status    COMPLETED") && human.contains("describe"),
        "{human}"
    );
    let missing = wf(url, &["runs", "show", "no-such-run"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no run no-such-run"),
        "{}",
        stderr(&missing)
    );

    // events: one JSON object per line, every sequence once, in order.
    let output = wf(url, &["--json", "events", "--run", &done]);
    assert!(output.status.success(), "{}", stderr(&output));
    let sequences: Vec<i64> = stdout(&output)
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["sequence"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(sequences.len() >= 4, "{sequences:?}");
    assert_eq!(sequences, (1..=sequences.len() as i64).collect::<Vec<_>>());
    let tail = wf(url, &["--json", "events", "--run", &done, "--after", "2"]);
    assert_eq!(stdout(&tail).lines().count(), sequences.len() - 2);
    // Following a finished run prints what it has and ends; so does following its progress.
    let followed = wf(url, &["--json", "events", "--run", &done, "--follow"]);
    assert!(followed.status.success(), "{}", stderr(&followed));
    assert_eq!(stdout(&followed).lines().count(), sequences.len());
    let progress = wf(url, &["runs", "show", &done, "--follow"]);
    assert!(progress.status.success(), "{}", stderr(&progress));
    let progress = stdout(&progress);
    assert!(
        progress.contains("stage describe COMPLETED (2/2 finished)")
            && progress.contains(&format!("run {done} COMPLETED")),
        "{progress}"
    );

    // cancel, then again (already finished); rerun needs the workflow's definition, which wf lacks.
    assert_eq!(
        wf_json(url, &["runs", "cancel", &pending, "--reason", "test"])["cancelled"],
        true
    );
    assert_eq!(
        wf_json(url, &["runs", "cancel", &pending])["cancelled"],
        false
    );
    assert_eq!(
        ids(&wf_json(url, &["runs", "list", "--status", "cancelled"])),
        std::slice::from_ref(&pending)
    );
    let rerun = wf(url, &["runs", "rerun", &done, "--from", "describe"]);
    assert_eq!(rerun.status.code(), Some(1));
    assert!(
        stderr(&rerun).contains("rerun needs the definition of workflow `doubler`"),
        "{}",
        stderr(&rerun)
    );
    assert_eq!(
        wf(url, &["runs", "list", "--since", "soon"]).status.code(),
        Some(2),
        "usage errors exit 2"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wf_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&format!("sqlite:{}", dir.path().join("wf.db").display())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wf_on_postgres() {
    let Some(backend) = PostgresBackend::from_env(module_path!()) else {
        return;
    };
    exercise(&backend.schema_url("").await).await;
    workflow_testing::conformance::BackendFactory::cleanup(&backend).await;
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        vec!["--help"],
        vec!["migrate", "--help"],
        vec!["runs", "--help"],
        vec!["runs", "list", "--help"],
        vec!["runs", "show", "--help"],
        vec!["runs", "cancel", "--help"],
        vec!["runs", "rerun", "--help"],
        vec!["events", "--help"],
        vec!["serve", "--help"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_wf"))
            .args(&args)
            .output()
            .unwrap();
        assert!(output.status.success(), "wf {args:?}");
        let help = stdout(&output);
        assert!(
            help.contains("Usage: wf") && help.contains("--database-url"),
            "wf {args:?}: {help}"
        );
    }
    let top = stdout(
        &Command::new(env!("CARGO_BIN_EXE_wf"))
            .arg("--help")
            .output()
            .unwrap(),
    );
    assert!(
        !top.lines()
            .any(|line| line.trim_start().starts_with("worker ")),
        "the standalone binary hides `worker`: {top}"
    );
    let unknown = Command::new(env!("CARGO_BIN_EXE_wf"))
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}
