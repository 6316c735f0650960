//! Values a backend cannot store (DESIGN §6): NUL bytes anywhere in inputs, configs, keys and outputs,
//! and keys longer than an index entry can hold, are refused before anything is written, with the field
//! named, the same way on every backend.

use super::fixtures;
use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::kernel::{
    AnnotationInput, AttachOptions, KernelError, MAX_KEY_BYTES, RunCreate,
};
use workflow_core::ports::Status;
use workflow_core::ports::blob_keys as keys;

fn refused(error: KernelError) -> String {
    assert!(
        matches!(error, KernelError::InvalidCommand { .. }),
        "refused as an invalid command: {error:?}"
    );
    error.to_string()
}

/// A NUL byte in the input, the config, the metadata, an annotation or the key of `run.create` is refused
/// with the place named; nothing is written.
pub async fn nul_bytes_are_refused_with_the_field_named(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let cases = [
        (
            RunCreate::new(
                "k-input",
                "conformance-linear",
                json!({ "value": 1, "notes": ["ok", "a\u{0}b"] }),
            ),
            "invalid run.create command: input.notes[1] contains a NUL byte (U+0000), which PostgreSQL cannot store",
        ),
        (
            RunCreate::new("k-config", "conformance-linear", json!({}))
                .config(json!({ "first": { "label": "x\u{0}" } })),
            "invalid run.create command: config.first.label contains a NUL byte (U+0000), which PostgreSQL cannot store",
        ),
        (
            RunCreate::new("k\u{0}ey", "conformance-linear", json!({})),
            "invalid run.create command: the idempotency key contains a NUL byte (U+0000), which PostgreSQL cannot store",
        ),
        (
            RunCreate::new("k-annotation", "conformance-linear", json!({}))
                .annotation(AnnotationInput::new("source", "a\u{0}")),
            "invalid run.create command: annotations[0].attributes.source contains a NUL byte (U+0000), which PostgreSQL cannot store",
        ),
    ];
    for (command, message) in cases {
        let error = h.kernel.dispatch(command).await.unwrap_err();
        assert_eq!(refused(error), message);
    }
    let mut metadata = RunCreate::new("k-metadata", "conformance-linear", json!({}));
    metadata.metadata = Some(json!({ "k\u{0}": 1 }));
    let error = h.kernel.dispatch(metadata).await.unwrap_err();
    assert!(refused(error).contains("metadata.k\u{0} contains a NUL byte"));
    assert!(h.runs().await.is_empty(), "nothing is written");
    for key in ["k-input", "k-config", "k-annotation", "k-metadata"] {
        assert_eq!(
            h.session()
                .await
                .get_idempotency_key(key, "run.create")
                .await
                .unwrap(),
            None,
            "no idempotency key is kept for {key}"
        );
    }
}

/// A key longer than [`MAX_KEY_BYTES`] (idempotency or annotation key) is refused, naming its length.
pub async fn oversize_keys_are_refused(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let long = "k".repeat(MAX_KEY_BYTES + 1);
    let error = h
        .kernel
        .dispatch(RunCreate::new(
            long.clone(),
            "conformance-linear",
            json!({}),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        refused(error),
        format!(
            "invalid run.create command: the idempotency key is {} bytes long; at most {MAX_KEY_BYTES} bytes can be indexed",
            MAX_KEY_BYTES + 1
        )
    );
    let exact = "k".repeat(MAX_KEY_BYTES);
    assert!(
        h.kernel
            .dispatch(RunCreate::new(exact, "conformance-linear", json!({})))
            .await
            .is_ok(),
        "a key of exactly the limit is stored"
    );
    let run_id = h.runs().await[0].id.clone();
    let error = h
        .kernel
        .annotations()
        .attach(
            &run_id,
            AnnotationInput::new(long, 1),
            AttachOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(refused(error).contains("attribute key"));
    assert!(h.annotations(&run_id).await.is_empty());
}

/// A stage that returns an output no backend can store fails with the reason (not retried), and its run
/// fails with it: neither is left `RUNNING`. Stage storage refuses such a value too.
pub async fn an_output_that_cannot_be_stored_fails_the_stage(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create(
            "conformance-linear",
            json!({ "value": 1, "nulOutput": true }),
        )
        .await;
    let run = h.drive(&run_id).await;
    assert_eq!(run.status, Status::Failed);
    let stage = h.stage(&run_id, "first").await;
    assert_eq!(
        (stage.status, stage.error_message.as_deref()),
        (
            Status::Failed,
            Some(
                "Stage first returned an output that cannot be stored: output.note contains a NUL byte (U+0000), which PostgreSQL cannot store"
            )
        )
    );
    assert_eq!(
        fixtures::executions(&run_id, "first"),
        1,
        "it is not retried"
    );
    assert!(
        h.jobs(&run_id)
            .await
            .iter()
            .all(|j| j.status == Status::Failed),
        "its job ends FAILED"
    );
    let key = keys::stage_key("conformance-linear", &run_id, "first", None);
    assert_eq!(h.blob(&key).await, None, "no output was stored");
    let error = h
        .kernel
        .blob_store()
        .put(&key, &json!({ "text": "a\u{0}" }))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("contains a NUL byte"),
        "stage storage refuses it: {error}"
    );
}
