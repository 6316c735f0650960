//! `kernel.annotations()` (reference §5.12, §11).

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use std::time::Duration;
use workflow_core::Actor;
use workflow_core::kernel::{AnnotationInput, AttachOptions, RunCreate};
use workflow_core::ports::AnnotationFilter;

/// `attach` writes run-scoped rows (deduplicated by idempotency key, events for every input); `list`
/// filters and orders them.
pub async fn attach_and_list(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run = h.create("conformance-linear", json!({})).await;
    let annotations = h.kernel.annotations();
    let review = AnnotationInput::new("review.disposition", "approved")
        .actor(Actor {
            kind: Some("user".into()),
            id: Some("alice".into()),
            version: None,
        })
        .idempotency_key("review-1")
        .emit_event();
    assert_eq!(
        annotations
            .attach(&run, review.clone(), AttachOptions::default())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        annotations
            .attach(&run, review, AttachOptions::default())
            .await
            .unwrap(),
        0,
        "deduplicated"
    );
    h.advance(Duration::from_secs(1));
    let decision =
        AnnotationInput::new("decision.outcome", "low").attribute("decision.confidence", 0.4);
    assert_eq!(
        annotations
            .attach(&run, decision, AttachOptions::default())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        annotations
            .attach(&run, AnnotationInput::default(), AttachOptions::default())
            .await
            .unwrap(),
        0
    );

    let all = annotations
        .list(&run, &AnnotationFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].key, "review.disposition");
    assert!(
        all.windows(2)
            .all(|w| (w[0].created_at, &w[0].id) <= (w[1].created_at, &w[1].id))
    );
    let by_prefix = annotations
        .list(
            &run,
            &AnnotationFilter {
                key_prefix: Some("decision.".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_prefix.len(), 2);
    let by_actor = annotations
        .list(
            &run,
            &AnnotationFilter {
                actor_id: Some("alice".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (by_actor.len(), by_actor[0].actor_kind.as_deref()),
        (1, Some("user"))
    );
    let limited = annotations
        .list(
            &run,
            &AnnotationFilter {
                limit: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    let types = h.event_types(&run).await;
    assert_eq!(
        types.iter().filter(|t| *t == "annotation:created").count(),
        2,
        "one event per input that asked, duplicate included"
    );
    let missing = annotations
        .attach(
            "missing",
            AnnotationInput::new("k", 1),
            AttachOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.to_string(), "WorkflowRun missing not found");
}

/// The deprecated run `metadata` is listed as virtual `legacy.metadata.*` rows.
pub async fn legacy_metadata_is_projected(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let mut command = RunCreate::new("legacy", "conformance-linear", json!({}));
    command.metadata = Some(json!({ "source": "import", "batch": 7 }));
    let run = h.kernel.dispatch(command).await.unwrap().workflow_run_id;
    let rows = h
        .kernel
        .annotations()
        .list(&run, &AnnotationFilter::default())
        .await
        .unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["legacy.metadata.batch", "legacy.metadata.source"]);
    assert_eq!(rows[0].id, format!("synthesized:{run}:batch"));
    assert_eq!(
        (rows[0].scope.as_str(), rows[0].attempt, rows[0].created_at),
        ("run", 0, h.run(&run).await.created_at)
    );
    let scoped = h
        .kernel
        .annotations()
        .list(
            &run,
            &AnnotationFilter {
                scope: Some("stage".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(scoped.is_empty());
}
