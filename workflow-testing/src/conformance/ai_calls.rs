//! The `ai_calls` table through `workflow_core::ai::AiCallLogger` (the log of AI calls and their costs).

use super::harness::{BackendFactory, Harness};
use serde_json::json;
use workflow_core::ai::{AiCall, AiCallLogger, AiCallType, ModelRegistry};
use workflow_core::ports::Status;

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

/// A topic prefix matches exactly the topics that start with it: not a sibling that merely sorts next to
/// it (`r1.` vs `r10.`, `r1-`), not `LIKE` wildcards, and not topics that differ only in case; non-ASCII,
/// a prefix whose successor is punctuation (`r9` → `r:`) and the empty prefix work. Sums and rows agree.
pub async fn topic_prefixes_match_exactly(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let logger = AiCallLogger::new(h.backend.ai_calls.clone(), h.clock.clone());
    let topics = [
        "workflow.r1.stage.a",
        "workflow.r1.stage.a.chunk.1",
        "workflow.r1.stage.ab",
        "workflow.r10.stage.a",
        "workflow.r1-x.stage.a",
        "workflow.R1.stage.a",
        "workflow.r%.stage.a",
        "workflow.r_.stage.a",
        "workflow.rü.stage.a",
        "workflow.rü.stage.ß",
        "workflow.r9.stage.a",
    ];
    for (i, topic) in topics.iter().enumerate() {
        logger.log(call(topic, i as u32 + 1, 1)).await.unwrap();
    }
    let cases: [(&str, &[usize]); 10] = [
        ("workflow.r1.", &[0, 1, 2]),
        ("workflow.r1.stage.a", &[0, 1, 2]),
        ("workflow.r1.stage.a.", &[1]),
        ("workflow.r1", &[0, 1, 2, 3, 4]),
        ("workflow.r%", &[6]),
        ("workflow.r_", &[7]),
        ("workflow.rü.stage.", &[8, 9]),
        ("workflow.rü.stage.ß", &[9]),
        // The successor of `…r9` is `…r:`, which language collations sort before digits.
        ("workflow.r9", &[10]),
        ("", &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ];
    for (prefix, expected) in cases {
        let mut found: Vec<String> = logger
            .calls(prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.topic)
            .collect();
        found.sort();
        let mut wanted: Vec<String> = expected.iter().map(|&i| topics[i].to_owned()).collect();
        wanted.sort();
        assert_eq!(found, wanted, "rows under {prefix:?}");
        let usage = logger.usage(prefix).await.unwrap();
        let input: u64 = expected.iter().map(|&i| i as u64 + 1).sum();
        assert_eq!(
            (usage.calls, usage.input_tokens, usage.output_tokens),
            (expected.len(), input, expected.len() as u64),
            "usage under {prefix:?}"
        );
    }
}

/// `ctx.ai()` in a sync and an async-batch stage: each call is a row of the store's own `ai_calls`
/// under `workflow.<runId>.stage.<stageId>` (batch results at the discounted price, marked with their
/// batch id), and the run's `totalCost` / `totalTokens` are the sums of its rows.
pub async fn stage_calls_are_logged_and_summed_into_the_run(factory: &dyn BackendFactory) {
    let h = Harness::new(factory).await;
    let run_id = h
        .create("conformance-ai", json!({ "text": "What is the answer?" }))
        .await;
    let run = h.drive(&run_id).await;
    assert_eq!(run.status, Status::Completed, "{run:?}");
    assert_eq!(
        run.output,
        Some(json!(["The answer is 42.", "The answer is 42."]))
    );
    let calls = h
        .backend
        .ai_calls
        .ai_calls_by_topic(&format!("workflow.{run_id}."))
        .await
        .unwrap();
    let summary: Vec<(&str, &str, i32, i32)> = calls
        .iter()
        .map(|c| {
            let stage = c.topic.rsplit('.').next().unwrap();
            (c.call_type.as_str(), stage, c.input_tokens, c.output_tokens)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("text", "ask-model", 4, 4),
            ("embed", "ask-model", 4, 0),
            ("batch", "batch-model", 4, 4),
            ("batch", "batch-model", 2, 4),
        ]
    );
    for call in &calls {
        assert_eq!(
            call.topic,
            format!(
                "workflow.{run_id}.stage.{}",
                call.topic.rsplit('.').next().unwrap()
            )
        );
        assert_eq!(
            (call.model_key.as_str(), call.model_id.as_str()),
            ("scripted", "scripted-1")
        );
    }
    let batch = &calls[2];
    assert_eq!(
        batch.metadata.as_ref().unwrap()["batchId"],
        "scripted-batch-1"
    );
    assert_eq!(batch.metadata.as_ref().unwrap()["customId"], "first");
    // $1 / $2 per million tokens, batch calls at half price.
    let expected = (4.0 + 8.0 + 4.0 + (4.0 + 8.0) / 2.0 + (2.0 + 8.0) / 2.0) / 1e6;
    let sum: f64 = calls.iter().map(|c| c.cost).sum();
    assert!((sum - expected).abs() < 1e-15, "{sum} vs {expected}");
    assert!(
        (run.total_cost - expected).abs() < 1e-15,
        "{}",
        run.total_cost
    );
    assert_eq!(run.total_tokens, 4 + 4 + 4 + 4 + 4 + 2 + 4);
    let stages = h.stages(&run_id).await;
    let metric = |id: &str, key: &str| {
        let stage = stages.iter().find(|s| s.stage_id == id).unwrap();
        stage.metrics.as_ref().unwrap()[key].as_f64().unwrap()
    };
    assert_eq!(metric("ask-model", "totalTokens"), 12.0);
    assert_eq!(metric("batch-model", "totalTokens"), 14.0);
}
