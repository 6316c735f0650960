//! The `ai_calls` table through `workflow_core::ai::AiCallLogger` (the log of AI calls and their costs).

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::ai::{AiCall, AiCallLogger, AiCallType, ModelRegistry};

fn call(topic: &str, input: u32, output: u32) -> AiCall {
    AiCall {
        topic: topic.into(),
        call_type: AiCallType::Text,
        model_key: "gemini-2.5-flash".into(),
        model_id: "google/gemini-2.5-flash".into(),
        prompt: "Summarize: …".into(),
        response: "A summary.".into(),
        input_tokens: input,
        output_tokens: output,
        cost: ModelRegistry::builtin()
            .get("gemini-2.5-flash")
            .expect("a built-in model")
            .cost(u64::from(input), u64::from(output), false),
        metadata: Some(json!({ "status": "ok" })),
    }
}

/// Calls are recorded with their tokens and cost; usage aggregates by topic prefix; batches are marked.
pub async fn calls_are_logged_and_aggregated(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let logger = AiCallLogger::new(h.backend.ai_calls.clone(), h.clock.clone());
    let id = logger
        .log(call("workflow.r1.stage.summarize", 1_000_000, 0))
        .await
        .unwrap();
    assert_eq!(id.len(), 25);
    logger
        .log(call("workflow.r1.stage.keywords", 0, 1_000_000))
        .await
        .unwrap();
    logger
        .log(call("workflow.r2.stage.summarize", 10, 10))
        .await
        .unwrap();
    logger
        .log_batch_results("batch-7", vec![call("workflow.r1.batch", 100, 100)])
        .await
        .unwrap();

    let r1 = logger.usage("workflow.r1.").await.unwrap();
    assert_eq!(
        (r1.calls, r1.input_tokens, r1.output_tokens),
        (3, 1_000_100, 1_000_100)
    );
    assert!(
        (r1.total_cost - (0.30 + 2.50 + 0.00028)).abs() < 1e-9,
        "{}",
        r1.total_cost
    );
    let rows = logger.calls("workflow.r1.stage.summarize").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].created_at, rows[0].metadata.clone()),
        (h.clock_now(), Some(json!({ "status": "ok" })))
    );
    assert!(logger.is_recorded("workflow.r1.", "batch-7").await.unwrap());
    assert!(!logger.is_recorded("workflow.r1.", "batch-8").await.unwrap());
    assert_eq!(logger.usage("workflow.r3").await.unwrap().calls, 0);
}
