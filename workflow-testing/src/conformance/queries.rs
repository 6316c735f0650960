//! The read-only query API (`workflow_core::query::Queries` over the store's `RunQueries`): filters,
//! keyset pages, a run with what belongs to it, event cursors, the feed of all runs, counts.

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;
use workflow_core::ids::RunId;
use workflow_core::kernel::{AnnotationInput, RunCancel, RunCreate};
use workflow_core::ports::{RunFilter, Status};
use workflow_core::query::Queries;

async fn create_annotated(h: &Harness, workflow: &str, key: &str, value: &str) -> RunId {
    let command = RunCreate::new(workflow_core::ids::cuid(), workflow, json!({}))
        .annotation(AnnotationInput::new(key, value));
    h.kernel.dispatch(command).await.unwrap().workflow_run_id
}

/// Every filter narrows the list, pages follow each other without gaps or repeats, newest (largest id)
/// first.
pub async fn runs_are_listed_by_filter_and_page(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let queries = Queries::new(h.backend.store.clone());
    let start = h.clock_now();
    let mut linear = Vec::new();
    for n in 0..5 {
        let run =
            create_annotated(&h, "conformance-linear", "tenant", &format!("t{}", n % 2)).await;
        linear.push(run);
        h.advance(Duration::from_secs(60));
    }
    let middle = h.clock_now();
    let fanout = create_annotated(&h, "conformance-fanout", "tenant", "t0").await;
    h.kernel
        .dispatch(RunCancel::new(linear[0].clone()))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut filter = RunFilter {
        limit: Some(2),
        ..RunFilter::default()
    };
    loop {
        let page = queries.runs(&filter).await.unwrap();
        assert!(page.runs.len() <= 2);
        seen.extend(page.runs.iter().map(|run| run.id.clone()));
        match page.next_cursor {
            Some(cursor) => filter.before_id = Some(cursor),
            None => break,
        }
    }
    let mut expected: Vec<RunId> = linear.iter().cloned().chain([fanout.clone()]).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        seen, expected,
        "three pages, newest id first, no gaps or repeats"
    );

    let ids = |page: workflow_core::query::RunPage| -> HashSet<RunId> {
        page.runs.into_iter().map(|run| run.id).collect()
    };
    let cancelled = RunFilter {
        status: Some(Status::Cancelled),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(queries.runs(&cancelled).await.unwrap()),
        HashSet::from([linear[0].clone()])
    );
    let of_fanout = RunFilter {
        workflow_id: Some("conformance-fanout".into()),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(queries.runs(&of_fanout).await.unwrap()),
        HashSet::from([fanout.clone()])
    );
    let early = RunFilter {
        created_from: Some(start),
        created_before: Some(middle - chrono::Duration::seconds(120)),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(queries.runs(&early).await.unwrap()),
        HashSet::from([linear[0].clone(), linear[1].clone(), linear[2].clone()]),
        "created-at range: from inclusive, before exclusive"
    );
    let tenant = |value: &str| RunFilter {
        annotation: Some(("tenant".into(), json!(value))),
        ..RunFilter::default()
    };
    assert_eq!(
        ids(queries.runs(&tenant("t1")).await.unwrap()),
        HashSet::from([linear[1].clone(), linear[3].clone()])
    );
    let t0_linear = RunFilter {
        workflow_id: Some("conformance-linear".into()),
        ..tenant("t0")
    };
    assert_eq!(
        ids(queries.runs(&t0_linear).await.unwrap()),
        HashSet::from([linear[0].clone(), linear[2].clone(), linear[4].clone()]),
        "filters combine"
    );
    assert!(ids(queries.runs(&tenant("nobody")).await.unwrap()).is_empty());

    let summary = queries.summary().await.unwrap();
    assert_eq!(summary.total, 6);
    assert_eq!(summary.by_status.get(&Status::Cancelled), Some(&1));
    assert_eq!(
        summary.by_workflow["conformance-fanout"]
            .values()
            .sum::<u64>(),
        1
    );
    assert_eq!(
        summary.by_workflow["conformance-linear"]
            .values()
            .sum::<u64>(),
        5
    );
}

/// A run reads back with its stages, annotations and typed output; its events come from a sequence
/// cursor in pieces that add up to the whole outbox exactly.
pub async fn a_run_reads_back_with_stages_output_and_events(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let queries = Queries::new(h.backend.store.clone()).with_ai_calls(h.backend.ai_calls.clone());
    let run = create_annotated(&h, "conformance-linear", "tenant", "acme").await;
    assert!(
        queries.queue_depth().await.unwrap().is_empty(),
        "no job before the claim"
    );
    h.claim().await;
    assert_eq!(
        queries.queue_depth().await.unwrap(),
        std::collections::BTreeMap::from([(Status::Pending, 1)]),
        "the first stage's job is queued"
    );
    h.drive(&run).await;
    assert!(
        queries.queue_depth().await.unwrap().is_empty(),
        "every job ended"
    );

    let view = queries.run(&run).await.unwrap().expect("the run exists");
    assert_eq!(view.run.status, Status::Completed);
    let stages: Vec<&str> = view.stages.iter().map(|s| s.stage_id.as_str()).collect();
    assert_eq!(queries.stages(&run).await.unwrap(), view.stages);
    assert_eq!(
        queries.run_record(&run).await.unwrap().as_ref(),
        Some(&view.run)
    );
    assert!(queries.run_record("no-such-run").await.unwrap().is_none());
    assert_eq!(stages, ["first", "second", "third"]);
    assert_eq!(view.stage_counts().get(&Status::Completed), Some(&3));
    assert!(
        view.annotations
            .iter()
            .any(|row| row.key == "tenant" && row.value == json!("acme")),
        "{:?}",
        view.annotations
    );
    let output: Option<String> = view.output().unwrap();
    assert_eq!(
        output.as_deref(),
        Some("value=1"),
        "the last stage's output, typed"
    );
    assert!(
        view.output::<Vec<u8>>().is_err(),
        "a wrong output type is a decoding error"
    );
    let pending = create_annotated(&h, "conformance-linear", "tenant", "later").await;
    let pending = queries.run(&pending).await.unwrap().unwrap();
    assert_eq!(
        pending.output::<String>().unwrap(),
        None,
        "no output before the run ends"
    );
    assert_eq!(view.ai_usage.calls, 0);
    assert!(queries.run("no-such-run").await.unwrap().is_none());

    let all = h.outbox(&run).await;
    assert!(all.len() > 3);
    let mut pieces = Vec::new();
    let mut cursor = 0;
    loop {
        let page = queries.events(&run, cursor, 2).await.unwrap();
        let Some(last) = page.last() else { break };
        cursor = last.sequence;
        pieces.extend(page);
    }
    assert_eq!(pieces, all, "every event once, by sequence");
    assert!(queries.events(&run, cursor, 10).await.unwrap().is_empty());
    assert_eq!(queries.logs(&run).await.unwrap(), h.logs(&run).await);
}

/// The feed of all runs hands out an event only once its id is older than the settle time (ids carry the
/// system clock, so this scenario waits in real time), and its cursor pages through every run's events
/// exactly once, each run's in sequence order.
pub async fn the_feed_hands_out_settled_events_once(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let settle = Duration::from_millis(400);
    let queries = Queries::new(h.backend.store.clone()).with_feed_settle(settle);
    let first = create_annotated(&h, "conformance-linear", "n", "1").await;
    let second = create_annotated(&h, "conformance-linear", "n", "2").await;
    assert!(
        queries.feed(None, 100).await.unwrap().events.is_empty(),
        "nothing is older than the settle time yet"
    );
    h.claim().await;
    h.drive(&first).await;
    h.drive(&second).await;
    tokio::time::sleep(settle + Duration::from_millis(100)).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = queries.feed(cursor.as_deref(), 3).await.unwrap();
        if page.events.is_empty() {
            assert_eq!(page.cursor, cursor, "an empty page keeps the cursor");
            break;
        }
        seen.extend(page.events);
        cursor = page.cursor;
    }
    for run in [&first, &second] {
        let of_run: Vec<i32> = seen
            .iter()
            .filter(|event| &event.workflow_run_id == run)
            .map(|event| event.sequence)
            .collect();
        let expected: Vec<i32> = h.outbox(run).await.iter().map(|e| e.sequence).collect();
        assert_eq!(
            of_run, expected,
            "run {run}: every event once, in sequence order"
        );
    }
    assert_eq!(
        seen.len(),
        h.outbox(&first).await.len() + h.outbox(&second).await.len()
    );
}
