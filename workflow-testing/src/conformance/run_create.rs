//! `run.create` (reference §5.1).

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::kernel::{AnnotationInput, KernelError, RunCreate};
use workflow_core::ports::Status;

fn is_cuid(id: &str) -> bool {
    id.len() == 25
        && id.starts_with('c')
        && id[1..]
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

/// A new run is `PENDING`, version 1, with the merged default config and a `workflow:created` event.
pub async fn creates_a_pending_run(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let created = h
        .kernel
        .dispatch(
            RunCreate::new("create-1", "conformance-linear", json!({ "value": 3 })).priority(7),
        )
        .await
        .unwrap();
    assert_eq!(created.status, Status::Pending);
    let run = h.run(&created.workflow_run_id).await;
    assert!(is_cuid(&run.id), "{}", run.id);
    assert_eq!(run.status, Status::Pending);
    assert_eq!(run.version, 1);
    assert_eq!(
        (
            run.workflow_id.as_str(),
            run.workflow_type.as_str(),
            run.workflow_name.as_str()
        ),
        ("conformance-linear", "conformance-linear", "Linear")
    );
    assert_eq!(run.priority, 7);
    assert_eq!(run.input, json!({ "value": 3 }));
    assert_eq!(
        run.config,
        json!({ "first": { "factor": 2, "label": "x" }, "second": {}, "third": {} })
    );
    assert_eq!(
        (run.created_at, run.updated_at),
        (h.clock_now(), h.clock_now())
    );
    assert_eq!(
        (run.started_at, run.completed_at, run.output.clone()),
        (None, None, None)
    );
    assert_eq!((run.total_cost, run.total_tokens), (0.0, 0));
    let outbox = h.outbox(&run.id).await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(
        (
            outbox[0].sequence,
            outbox[0].event_type.as_str(),
            outbox[0].causation_id.as_str()
        ),
        (1, "workflow:created", "create-1")
    );
    assert_eq!(outbox[0].payload["workflowId"], "conformance-linear");
    assert_eq!(outbox[0].payload["workflowRunId"], json!(run.id));
    let default_priority = h.create("conformance-linear", json!({})).await;
    assert_eq!(h.run(&default_priority).await.priority, 5);
}

/// The given config replaces a stage's defaults by stage key (shallow merge); other stages keep theirs.
pub async fn config_overrides_replace_defaults_per_stage(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let command = RunCreate::new("merge", "conformance-linear", json!({}))
        .config(json!({ "first": { "factor": 5 } }));
    let run = h.kernel.dispatch(command).await.unwrap();
    let config = h.run(&run.workflow_run_id).await.config;
    assert_eq!(
        config,
        json!({ "first": { "factor": 5 }, "second": {}, "third": {} })
    );
}

async fn assert_nothing_written(h: &Harness, key: &str) {
    assert!(h.runs().await.is_empty(), "no run may be written");
    assert_eq!(
        h.session()
            .await
            .get_idempotency_key(key, "run.create")
            .await
            .unwrap(),
        None,
        "no idempotency key may be kept"
    );
}

/// An unknown workflow id is refused before anything is written.
pub async fn unknown_workflows_are_refused(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let error = h
        .kernel
        .dispatch(RunCreate::new("k-unknown", "nope", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(error, KernelError::WorkflowNotFound(_)));
    assert_eq!(error.to_string(), "Workflow nope not found in registry");
    assert_nothing_written(&h, "k-unknown").await;
}

/// Invalid input is refused with the field path, before anything is written.
pub async fn invalid_input_is_refused_with_the_field_path(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let error = h
        .kernel
        .dispatch(RunCreate::new(
            "k-input",
            "conformance-linear",
            json!({ "value": "seven" }),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Invalid workflow input: at `value`: invalid type: string \"seven\", expected i64"
    );
    assert_nothing_written(&h, "k-input").await;
}

/// Invalid config lists every stage's problem, before anything is written.
pub async fn invalid_config_lists_every_stage(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let command = RunCreate::new("k-config", "conformance-linear", json!({}))
        .config(json!({ "first": { "factor": "two" }, "secnd": {} }));
    let error = h.kernel.dispatch(command).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Invalid workflow config: first: Config validation failed: at `factor`: invalid type: string \"two\", expected i64, \
         secnd: Config validation failed: no stage has this id (the workflow's stages are first, second, third)"
    );
    assert_nothing_written(&h, "k-config").await;
    let missing = h
        .kernel
        .dispatch(RunCreate::new(
            "k-required",
            "conformance-configured",
            json!({}),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "Invalid workflow config: configured: Config validation failed: missing field `apiKey`"
    );
    let not_object = h
        .kernel
        .dispatch(RunCreate::new("k-array", "conformance-linear", json!({})).config(json!([1])))
        .await
        .unwrap_err();
    assert!(
        not_object
            .to_string()
            .contains("a run config is a JSON object keyed by stage id, not an array")
    );
    assert!(h.runs().await.is_empty());
}

/// Annotations given to `run.create` are run-scoped rows; `emit_event` adds `annotation:created` events.
pub async fn run_annotations_are_written_with_the_run(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let command = RunCreate::new("k-annotated", "conformance-linear", json!({}))
        .annotation(
            AnnotationInput::new("trigger.source", "webhook")
                .attribute("trigger.reason", "test")
                .emit_event(),
        )
        .annotation(AnnotationInput::new("skipped", serde_json::Value::Null));
    let run = h.kernel.dispatch(command).await.unwrap().workflow_run_id;
    let rows = h.annotations(&run).await;
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.contains(&"trigger.source") && keys.contains(&"trigger.reason"));
    assert!(
        rows.iter()
            .all(|r| r.scope == "run" && r.attempt == 0 && r.workflow_stage_record_id.is_none())
    );
    assert_eq!(
        h.event_types(&run).await,
        [
            "workflow:created",
            "annotation:created",
            "annotation:created"
        ]
    );
}
