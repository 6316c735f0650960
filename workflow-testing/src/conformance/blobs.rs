//! The blob store contract (reference §7.1 key layout), on the backend's blob store.

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::ports::blob_keys as keys;

/// Put, get, overwrite, has, list, delete and delete-by-prefix, with keys of the reference layout.
pub async fn blob_store_contract(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run = h.create("conformance-linear", json!({})).await;
    let blobs = h.kernel.blob_store();
    let output = keys::stage_key("conformance-linear", &run, "first", None);
    let artifact = keys::artifact_key("conformance-linear", &run, "first", "raw text", None);
    let other = keys::stage_key("conformance-linear", &run, "second", None);

    assert_eq!(
        blobs.get(&output).await.unwrap(),
        None,
        "a missing key is None, not an error"
    );
    blobs.put(&output, &json!({ "value": 1 })).await.unwrap();
    blobs
        .put(&output, &json!({ "value": 2, "nested": [true, null, 1.5] }))
        .await
        .unwrap();
    blobs.put(&artifact, &json!("text")).await.unwrap();
    blobs.put(&other, &json!(7)).await.unwrap();
    assert_eq!(
        blobs.get(&output).await.unwrap(),
        Some(json!({ "value": 2, "nested": [true, null, 1.5] }))
    );
    assert_eq!(
        blobs.get(&other).await.unwrap(),
        Some(json!(7)),
        "bare JSON values round-trip"
    );
    assert!(blobs.has(&artifact).await.unwrap());
    let stage_prefix = keys::stage_prefix("conformance-linear", &run, "first");
    assert_eq!(
        blobs.list(&stage_prefix).await.unwrap(),
        [artifact.clone(), output.clone()]
    );
    blobs.delete(&artifact).await.unwrap();
    blobs.delete(&artifact).await.unwrap();
    assert!(!blobs.has(&artifact).await.unwrap());
    assert_eq!(blobs.delete_prefix(&stage_prefix).await.unwrap(), 1);
    assert_eq!(
        blobs
            .list(&format!("workflow-v2/conformance-linear/{run}/"))
            .await
            .unwrap(),
        [other]
    );
}
