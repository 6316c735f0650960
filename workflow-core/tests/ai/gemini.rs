//! The Gemini provider against a mock answering in the Gemini API's formats.

use super::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workflow_core::ai::providers::Gemini;

fn provider(server: &MockServer) -> Gemini {
    Gemini::new(&server.uri()).api_key("g-test").options(fast())
}

fn content(parts: Value, prompt: u64, candidates: u64, thoughts: u64) -> Value {
    json!({
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
                          "thoughtsTokenCount": thoughts, "totalTokenCount": prompt + candidates + thoughts},
        "modelVersion": "model-x", "responseId": "r1"
    })
}

async fn generate(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1beta/models/model-x:generateContent"))
        .and(header("x-goog-api-key", "g-test"))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn text_counts_thinking_tokens_as_output() {
    let server = MockServer::start().await;
    let parts = json!([{"text": "thinking...", "thought": true}, {"text": "Hello!"}]);
    generate(
        &server,
        ResponseTemplate::new(200).set_body_json(content(parts, 9, 3, 7)),
    )
    .await;
    let ran = run(OneCall, "text", "gemini", provider(&server)).await;
    assert_completed(&ran);
    assert_eq!(ran.outcome().reply.as_deref(), Some("Hello!"));
    assert_success_row(ran.call(), "text", 9, 10);
    ran.assert_totals(price(9, 10, false), 19);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(sent["generationConfig"]["maxOutputTokens"], 50);
}

#[tokio::test]
async fn an_object_asks_for_json_with_the_schema() {
    let server = MockServer::start().await;
    let parts = json!([{"text": "{\"number\": \"INV-3\", \"total_cents\": 300}"}]);
    generate(
        &server,
        ResponseTemplate::new(200).set_body_json(content(parts, 30, 12, 0)),
    )
    .await;
    let ran = run(OneCall, "object", "gemini", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("INV-3 300"));
    assert_success_row(ran.call(), "object", 30, 12);
    ran.assert_totals(price(30, 12, false), 42);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        sent["generationConfig"]["responseJsonSchema"]["properties"]["number"]["type"],
        "string"
    );
}

#[tokio::test]
async fn an_invalid_object_names_the_field() {
    let server = MockServer::start().await;
    let parts = json!([{"text": "{\"number\": 3, \"total_cents\": 300}"}]);
    generate(
        &server,
        ResponseTemplate::new(200).set_body_json(content(parts, 30, 12, 0)),
    )
    .await;
    let ran = run(OneCall, "object", "gemini", provider(&server)).await;
    let error = ran.outcome().error.unwrap();
    assert!(
        error.contains("at `number`: invalid type: integer `3`, expected a string"),
        "{error}"
    );
    ran.assert_totals(price(30, 12, false), 42);
}

#[tokio::test]
async fn embeddings_use_batch_embed_contents() {
    let server = MockServer::start().await;
    let body = json!({"embeddings": [{"values": [0.1, 0.2, 0.3]}, {"values": [0.4, 0.5, 0.6]}]});
    Mock::given(method("POST"))
        .and(path("/v1beta/models/model-x:batchEmbedContents"))
        .and(body_partial_json(json!({"requests": [{"model": "models/model-x", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 3}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let ran = run(OneCall, "embed", "gemini", provider(&server)).await;
    assert_eq!(
        ran.outcome().reply.as_deref(),
        Some("[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]")
    );
    // The embeddings API reports no tokens: the row says 0 and costs nothing.
    assert_success_row(ran.call(), "embed", 0, 0);
    ran.assert_totals(0.0, 0);
}

#[tokio::test]
async fn a_stream_takes_the_last_usage_metadata() {
    let server = MockServer::start().await;
    let mut first = content(json!([{"text": "Once"}]), 6, 1, 0);
    first["usageMetadata"] = json!({"promptTokenCount": 6, "totalTokenCount": 6});
    let chunks = [first, content(json!([{"text": " upon"}]), 6, 4, 0)];
    let sse: String = chunks
        .iter()
        .map(|c| format!("data: {c}\r\n\r\n"))
        .collect();
    Mock::given(method("POST"))
        .and(path("/v1beta/models/model-x:streamGenerateContent"))
        .respond_with(event_stream(sse))
        .mount(&server)
        .await;
    let ran = run(OneCall, "stream", "gemini", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("Once| upon"));
    assert_success_row(ran.call(), "stream", 6, 4);
    ran.assert_totals(price(6, 4, false), 10);
    let url = &server.received_requests().await.unwrap()[0].url;
    assert_eq!(url.query(), Some("alt=sse"));
}

#[tokio::test]
async fn a_batch_of_inline_requests_is_polled_and_read() {
    let server = MockServer::start().await;
    let operation = |state: &str, response: Value| {
        json!({"name": "batches/b-1", "metadata": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
               "model": "models/model-x", "displayName": "workflow", "state": state,
               "batchStats": {"requestCount": "2", "successfulRequestCount": "2"}},
               "done": state == "BATCH_STATE_SUCCEEDED", "response": response})
    };
    Mock::given(method("POST"))
        .and(path("/v1beta/models/model-x:batchGenerateContent"))
        .and(body_partial_json(json!({"batch": {"input_config": {"requests": {"requests": [{"metadata": {"key": "doc-1"}}]}}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(operation("BATCH_STATE_PENDING", Value::Null)))
        .mount(&server)
        .await;
    answer_once(
        &server,
        "GET",
        "/v1beta/batches/b-1",
        ResponseTemplate::new(200).set_body_json(operation("BATCH_STATE_RUNNING", Value::Null)),
        1,
    )
    .await;
    let inlined = json!({"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
        "inlinedResponses": {"inlinedResponses": [
            {"response": content(json!([{"text": "one"}]), 100, 10, 0), "metadata": {"key": "doc-1"}},
            {"response": content(json!([{"text": "two"}]), 200, 20, 0), "metadata": {"key": "doc-2"}}]}});
    Mock::given(method("GET"))
        .and(path("/v1beta/batches/b-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(operation("BATCH_STATE_SUCCEEDED", inlined)),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let ran = run(OneBatch, "batch", "gemini", provider(&server)).await;
    assert_completed(&ran);
    assert_eq!(ran.summary.output, Some(json!(["doc-1=one", "doc-2=two"])));
    assert_eq!(ran.calls.len(), 2);
    assert_success_row(&ran.calls[0], "batch", 100, 10);
    assert_eq!(
        ran.calls[0].metadata.as_ref().unwrap()["batchId"],
        "batches/b-1"
    );
    ran.assert_totals(price(300, 30, true), 330);
}

#[tokio::test]
async fn a_429_and_a_503_are_retried_then_succeed() {
    let server = MockServer::start().await;
    let exhausted = json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}});
    answer_once(
        &server,
        "POST",
        "/v1beta/models/model-x:generateContent",
        ResponseTemplate::new(429).set_body_json(exhausted),
        1,
    )
    .await;
    let unavailable = json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}});
    answer_once(
        &server,
        "POST",
        "/v1beta/models/model-x:generateContent",
        ResponseTemplate::new(503).set_body_json(unavailable),
        2,
    )
    .await;
    let parts = json!([{"text": "Hello!"}]);
    generate(
        &server,
        ResponseTemplate::new(200).set_body_json(content(parts, 9, 3, 0)),
    )
    .await;
    let ran = run(OneCall, "text", "gemini", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("Hello!"));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_success_row(ran.call(), "text", 9, 3);
    ran.assert_totals(price(9, 3, false), 12);
}

#[tokio::test]
async fn a_timeout_is_reported() {
    let server = MockServer::start().await;
    let late = content(json!([{"text": "late"}]), 1, 1, 0);
    generate(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(late)
            .set_delay(Duration::from_secs(2)),
    )
    .await;
    let ran = run(
        OneCall,
        "text",
        "gemini",
        provider(&server).options(impatient()),
    )
    .await;
    assert!(
        ran.outcome()
            .error
            .unwrap()
            .contains("gemini model model-x: no answer within 300ms")
    );
    assert_error_row(ran.call(), "text", "timeout");
    ran.assert_totals(0.0, 0);
}
