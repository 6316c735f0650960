//! The Anthropic provider against a mock answering in the Messages API's formats.

use super::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workflow_core::ai::providers::Anthropic;

fn provider(server: &MockServer) -> Anthropic {
    Anthropic::new(&server.uri())
        .api_key("sk-ant-test")
        .options(fast())
}

fn message(content: Value, input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "model-x", "content": content,
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    })
}

async fn messages(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-test"))
        .and(header("anthropic-version", "2023-06-01"))
        .and(body_partial_json(json!({"model": "model-x"})))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn text_is_logged_and_priced_into_the_run() {
    let server = MockServer::start().await;
    let reply = message(json!([{"type": "text", "text": "Hello!"}]), 14, 4);
    messages(&server, ResponseTemplate::new(200).set_body_json(reply)).await;
    let ran = run(OneCall, "text", "anthropic", provider(&server)).await;
    assert_completed(&ran);
    assert_eq!(ran.outcome().reply.as_deref(), Some("Hello!"));
    assert_success_row(ran.call(), "text", 14, 4);
    ran.assert_totals(price(14, 4, false), 18);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        (sent["system"].as_str(), sent["max_tokens"].as_u64()),
        (Some("Be brief."), Some(50))
    );
}

#[tokio::test]
async fn an_object_is_a_forced_tool_call() {
    let server = MockServer::start().await;
    let tool = json!([{"type": "tool_use", "id": "toolu_1", "name": "Invoice",
                       "input": {"number": "INV-9", "total_cents": 999}}]);
    messages(
        &server,
        ResponseTemplate::new(200).set_body_json(message(tool, 60, 20)),
    )
    .await;
    let ran = run(OneCall, "object", "anthropic", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("INV-9 999"));
    assert_success_row(ran.call(), "object", 60, 20);
    ran.assert_totals(price(60, 20, false), 80);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "tool", "name": "Invoice"})
    );
    assert_eq!(
        sent["tools"][0]["input_schema"]["required"],
        json!(["number", "total_cents"])
    );
}

#[tokio::test]
async fn an_invalid_object_names_the_field() {
    let server = MockServer::start().await;
    let tool = json!([{"type": "tool_use", "id": "toolu_1", "name": "Invoice", "input": {"total_cents": 1}}]);
    messages(
        &server,
        ResponseTemplate::new(200).set_body_json(message(tool, 60, 20)),
    )
    .await;
    let ran = run(OneCall, "object", "anthropic", provider(&server)).await;
    let error = ran.outcome().error.unwrap();
    assert!(error.contains("missing field `number`"), "{error}");
    assert_success_row(ran.call(), "object", 60, 20);
    ran.assert_totals(price(60, 20, false), 80);
}

#[tokio::test]
async fn embeddings_are_unsupported_and_say_so() {
    let server = MockServer::start().await;
    let ran = run(OneCall, "embed", "anthropic", provider(&server)).await;
    assert_eq!(
        ran.outcome().error.as_deref(),
        Some("provider anthropic does not support embeddings (model m)")
    );
    assert_error_row(ran.call(), "embed", "does not support embeddings");
    ran.assert_totals(0.0, 0);
}

#[tokio::test]
async fn a_stream_sums_usage_from_message_start_and_message_delta() {
    let server = MockServer::start().await;
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": message(json!([]), 25, 1)}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Once"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " upon"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 6}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let sse: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(event_stream(sse))
        .mount(&server)
        .await;
    let ran = run(OneCall, "stream", "anthropic", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("Once| upon"));
    assert_success_row(ran.call(), "stream", 25, 6);
    ran.assert_totals(price(25, 6, false), 31);
}

#[tokio::test]
async fn a_message_batch_is_created_polled_and_its_results_read() {
    let server = MockServer::start().await;
    let batch = |status: &str, results: Value| {
        json!({"id": "msgbatch_1", "type": "message_batch", "processing_status": status,
               "request_counts": {"processing": if status == "ended" { 0 } else { 2 }, "succeeded": if status == "ended" { 2 } else { 0 },
                                  "errored": 0, "canceled": 0, "expired": 0},
               "results_url": results, "created_at": "2026-12-01T00:00:00Z"})
    };
    Mock::given(method("POST"))
        .and(path("/v1/messages/batches"))
        .and(body_partial_json(
            json!({"requests": [{"custom_id": "doc-1", "params": {"model": "model-x"}}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("in_progress", Value::Null)))
        .mount(&server)
        .await;
    answer_once(
        &server,
        "GET",
        "/v1/messages/batches/msgbatch_1",
        ResponseTemplate::new(200).set_body_json(batch("in_progress", Value::Null)),
        1,
    )
    .await;
    let results_url = format!("{}/v1/messages/batches/msgbatch_1/results", server.uri());
    Mock::given(method("GET"))
        .and(path("/v1/messages/batches/msgbatch_1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("ended", json!(results_url))))
        .with_priority(2)
        .mount(&server)
        .await;
    let line = |id: &str, text: &str, p: u64, c: u64| {
        json!({"custom_id": id, "result": {"type": "succeeded", "message": message(json!([{"type": "text", "text": text}]), p, c)}})
            .to_string()
    };
    let errored = json!({"custom_id": "doc-2", "result": {"type": "errored", "error": {"type": "error", "error": {"type": "invalid_request_error", "message": "too long"}}}});
    let body = format!("{}\n{errored}\n", line("doc-1", "one", 100, 10));
    Mock::given(method("GET"))
        .and(path("/v1/messages/batches/msgbatch_1/results"))
        .and(header("x-api-key", "sk-ant-test"))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    let ran = run(OneBatch, "batch", "anthropic", provider(&server)).await;
    assert_completed(&ran);
    let output = ran.summary.output.clone().unwrap();
    assert_eq!(output[0], "doc-1=one");
    assert!(
        output[1].as_str().unwrap().starts_with("doc-2!errored")
            && output[1].as_str().unwrap().contains("too long")
    );
    assert_success_row(ran.call(), "batch", 100, 10);
    ran.assert_totals(price(100, 10, true), 110);
}

#[tokio::test]
async fn overloaded_529_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    answer_once(
        &server,
        "POST",
        "/v1/messages",
        ResponseTemplate::new(529).set_body_json(overloaded),
        1,
    )
    .await;
    answer_once(&server, "POST", "/v1/messages", ResponseTemplate::new(429).insert_header("retry-after", "0").set_body_json(json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})), 2).await;
    let reply = message(json!([{"type": "text", "text": "Hello!"}]), 14, 4);
    messages(&server, ResponseTemplate::new(200).set_body_json(reply)).await;
    let ran = run(OneCall, "text", "anthropic", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("Hello!"));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_success_row(ran.call(), "text", 14, 4);
    ran.assert_totals(price(14, 4, false), 18);
}

#[tokio::test]
async fn retries_run_out_with_the_last_status_named() {
    let server = MockServer::start().await;
    let limited = json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Number of request tokens has exceeded your per-minute rate limit"}});
    messages(&server, ResponseTemplate::new(429).set_body_json(limited)).await;
    let ran = run(OneCall, "text", "anthropic", provider(&server)).await;
    let error = ran.outcome().error.unwrap();
    assert!(
        error.starts_with("anthropic model model-x: HTTP 429: Number of request tokens"),
        "{error}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_error_row(ran.call(), "text", "HTTP 429");
    ran.assert_totals(0.0, 0);
}

#[tokio::test]
async fn a_timeout_is_reported() {
    let server = MockServer::start().await;
    let reply = message(json!([{"type": "text", "text": "late"}]), 1, 1);
    messages(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(reply)
            .set_delay(Duration::from_secs(2)),
    )
    .await;
    let ran = run(
        OneCall,
        "text",
        "anthropic",
        provider(&server).options(impatient()),
    )
    .await;
    assert!(
        ran.outcome()
            .error
            .unwrap()
            .contains("anthropic model model-x: no answer within 300ms")
    );
    assert_error_row(ran.call(), "text", "timeout");
    ran.assert_totals(0.0, 0);
}

#[tokio::test]
async fn an_error_event_mid_stream_is_reported_and_logged() {
    let server = MockServer::start().await;
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": message(json!([]), 25, 1)}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Once"}}),
        ),
        (
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    ];
    let sse: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(event_stream(sse))
        .mount(&server)
        .await;
    let ran = run(OneCall, "stream", "anthropic", provider(&server)).await;
    let error = ran.outcome().error.unwrap();
    assert_eq!(
        error,
        "anthropic model model-x: unexpected response: the stream reported an error: Overloaded"
    );
    assert_error_row(ran.call(), "stream", "Overloaded");
    ran.assert_totals(0.0, 0);
}
