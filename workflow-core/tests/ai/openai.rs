//! The OpenAI-compatible provider against a mock answering in OpenAI's formats.

use super::*;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workflow_core::ai::providers::OpenAiCompatible;

fn provider(server: &MockServer) -> OpenAiCompatible {
    OpenAiCompatible::new("openai", &format!("{}/v1", server.uri()))
        .api_key("sk-test")
        .options(fast())
}

fn completion(content: &str, prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000, "model": "model-x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": null},
                     "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
    })
}

async fn chat(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .and(body_partial_json(json!({"model": "model-x"})))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn text_is_logged_and_priced_into_the_run() {
    let server = MockServer::start().await;
    chat(
        &server,
        ResponseTemplate::new(200).set_body_json(completion("Hello!", 12, 3)),
    )
    .await;
    let ran = run(OneCall, "text", "openai", provider(&server)).await;
    assert_completed(&ran);
    assert_eq!(ran.outcome().reply.as_deref(), Some("Hello!"));
    let call = ran.call();
    assert_success_row(call, "text", 12, 3);
    assert_eq!(
        (call.prompt.as_str(), call.response.as_str()),
        ("Say hello.", "Hello!")
    );
    ran.assert_totals(price(12, 3, false), 15);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(sent["max_tokens"], 50);
}

#[tokio::test]
async fn an_object_reply_is_typed_and_its_schema_is_sent() {
    let server = MockServer::start().await;
    let reply = completion(r#"{"number":"INV-7","total_cents":1250}"#, 40, 9);
    chat(&server, ResponseTemplate::new(200).set_body_json(reply)).await;
    let ran = run(OneCall, "object", "openai", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("INV-7 1250"));
    assert_success_row(ran.call(), "object", 40, 9);
    ran.assert_totals(price(40, 9, false), 49);
    let sent: Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    let format = &sent["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "Invoice");
    assert_eq!(
        format["json_schema"]["schema"]["properties"]["total_cents"]["type"],
        "integer"
    );
}

#[tokio::test]
async fn an_invalid_object_names_the_field_and_still_costs() {
    let server = MockServer::start().await;
    let reply = completion(r#"{"number":"INV-7","total_cents":"twelve"}"#, 40, 9);
    chat(&server, ResponseTemplate::new(200).set_body_json(reply)).await;
    let ran = run(OneCall, "object", "openai", provider(&server)).await;
    let error = ran.outcome().error.expect("an error");
    assert!(
        error.contains("at `total_cents`") && error.contains("Invoice"),
        "{error}"
    );
    // The provider billed the reply: the row and the run count it.
    assert_success_row(ran.call(), "object", 40, 9);
    ran.assert_totals(price(40, 9, false), 49);
}

#[tokio::test]
async fn an_error_propagated_with_question_mark_fails_the_run_with_its_message() {
    let server = MockServer::start().await;
    let reply = completion(r#"{"total_cents":5}"#, 40, 9);
    chat(&server, ResponseTemplate::new(200).set_body_json(reply)).await;
    let ran = run(OneCall, "object?", "openai", provider(&server)).await;
    assert_eq!(ran.summary.status, Status::Failed);
    // The stage's retries asked again; every reply was billed and logged.
    assert!(!ran.calls.is_empty());
    for call in &ran.calls {
        assert_success_row(call, "object", 40, 9);
    }
    // A failed run has no totals (the TypeScript engine sets them only on completion).
    assert_eq!(ran.summary.total_cost, 0.0);
}

#[tokio::test]
async fn embeddings_come_back_in_order_with_their_usage() {
    let server = MockServer::start().await;
    let body = json!({
        "object": "list", "model": "model-x",
        "data": [{"object": "embedding", "index": 1, "embedding": [0.4, 0.5, 0.6]},
                 {"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}],
        "usage": {"prompt_tokens": 8, "total_tokens": 8}
    });
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(body_partial_json(
            json!({"model": "model-x", "input": ["a", "b"], "dimensions": 3}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let ran = run(OneCall, "embed", "openai", provider(&server)).await;
    assert_eq!(
        ran.outcome().reply.as_deref(),
        Some("[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]")
    );
    let call = ran.call();
    assert_success_row(call, "embed", 8, 0);
    assert_eq!(call.prompt, r#"["a","b"]"#);
    ran.assert_totals(price(8, 0, false), 8);
}

#[tokio::test]
async fn a_stream_yields_pieces_and_records_the_final_usage() {
    let server = MockServer::start().await;
    let chunk = |content: Value, usage: Value| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "model-x",
               "choices": if content.is_null() { json!([]) } else { json!([{"index": 0, "delta": {"content": content}, "finish_reason": null}]) },
               "usage": usage})
    };
    let sse = [
        chunk(json!("Once"), Value::Null),
        chunk(json!(" upon"), Value::Null),
        chunk(
            Value::Null,
            json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}),
        ),
    ]
    .iter()
    .map(|c| format!("data: {c}\n\n"))
    .collect::<String>()
        + "data: [DONE]\n\n";
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        ))
        .respond_with(event_stream(sse))
        .mount(&server)
        .await;
    let ran = run(OneCall, "stream", "openai", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("Once| upon"));
    let call = ran.call();
    assert_success_row(call, "stream", 5, 2);
    assert_eq!(call.response, "Once upon");
    ran.assert_totals(price(5, 2, false), 7);
}

#[tokio::test]
async fn a_batch_is_uploaded_polled_and_its_results_priced_with_the_discount() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "file-in", "object": "file", "purpose": "batch"})),
        )
        .mount(&server)
        .await;
    let batch = |status: &str, output: Value| {
        json!({"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions", "status": status,
               "input_file_id": "file-in", "output_file_id": output, "error_file_id": null,
               "request_counts": {"total": 2, "completed": if status == "completed" { 2 } else { 0 }, "failed": 0}})
    };
    Mock::given(method("POST"))
        .and(path("/v1/batches"))
        .and(body_partial_json(json!({"input_file_id": "file-in", "endpoint": "/v1/chat/completions", "completion_window": "24h"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch("validating", Value::Null)))
        .mount(&server)
        .await;
    answer_once(
        &server,
        "GET",
        "/v1/batches/batch_1",
        ResponseTemplate::new(200).set_body_json(batch("in_progress", Value::Null)),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(batch("completed", json!("file-out"))),
        )
        .with_priority(2)
        .mount(&server)
        .await;
    let line = |id: &str, text: &str, p: u64, c: u64| {
        json!({"id": format!("req-{id}"), "custom_id": id, "error": null,
               "response": {"status_code": 200, "request_id": "r", "body": completion(text, p, c)}})
        .to_string()
    };
    let output = format!(
        "{}\n{}\n",
        line("doc-1", "one", 100, 10),
        line("doc-2", "two", 200, 20)
    );
    Mock::given(method("GET"))
        .and(path("/v1/files/file-out/content"))
        .respond_with(ResponseTemplate::new(200).set_body_string(output))
        .mount(&server)
        .await;

    let ran = run(OneBatch, "batch", "openai", provider(&server)).await;
    assert_completed(&ran);
    assert_eq!(ran.summary.output, Some(json!(["doc-1=one", "doc-2=two"])));
    assert_eq!(ran.calls.len(), 2);
    for (call, (id, input, output)) in ran
        .calls
        .iter()
        .zip([("doc-1", 100, 10), ("doc-2", 200, 20)])
    {
        assert_success_row(call, "batch", input, output);
        let metadata = call.metadata.as_ref().unwrap();
        assert_eq!(
            (metadata["batchId"].as_str(), metadata["customId"].as_str()),
            (Some("batch_1"), Some(id))
        );
    }
    ran.assert_totals(price(300, 30, true), 330);
    assert!((price(300, 30, true) - price(300, 30, false) / 2.0).abs() < 1e-12);
    // The uploaded JSONL holds one chat request per prompt.
    let upload = &server.received_requests().await.unwrap()[0];
    let body = String::from_utf8_lossy(&upload.body);
    assert!(
        body.contains(r#""custom_id":"doc-1""#) && body.contains(r#""url":"/v1/chat/completions""#),
        "{body}"
    );
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_then_succeeds() {
    let server = MockServer::start().await;
    answer_once(&server, "POST", "/v1/chat/completions", ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}})), 1).await;
    chat(
        &server,
        ResponseTemplate::new(200).set_body_json(completion("Hello!", 12, 3)),
    )
    .await;
    let started = std::time::Instant::now();
    let ran = run(OneCall, "text", "openai", provider(&server)).await;
    assert_eq!(ran.outcome().reply.as_deref(), Some("Hello!"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_success_row(ran.call(), "text", 12, 3);
    ran.assert_totals(price(12, 3, false), 15);
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_names_provider_model_and_status() {
    let server = MockServer::start().await;
    let body = json!({"error": {"message": "Invalid schema for response_format", "type": "invalid_request_error"}});
    chat(&server, ResponseTemplate::new(400).set_body_json(body)).await;
    let ran = run(OneCall, "text", "openai", provider(&server)).await;
    let error = ran.outcome().error.unwrap();
    assert_eq!(
        error,
        "openai model model-x: HTTP 400: Invalid schema for response_format"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_error_row(ran.call(), "text", "HTTP 400");
    ran.assert_totals(0.0, 0);
}

#[tokio::test]
async fn a_timeout_is_retried_then_reported_and_logged_at_no_cost() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(completion("late", 1, 1))
        .set_delay(Duration::from_secs(2));
    chat(&server, slow).await;
    let ran = run(
        OneCall,
        "text",
        "openai",
        provider(&server).options(impatient()),
    )
    .await;
    let error = ran.outcome().error.unwrap();
    assert!(
        error.contains("openai model model-x: no answer within 300ms"),
        "{error}"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "1 attempt + 2 retries"
    );
    assert_error_row(ran.call(), "text", "timeout");
    ran.assert_totals(0.0, 0);
}

#[tokio::test]
async fn a_missing_key_names_the_variable() {
    let server = MockServer::start().await;
    let unset = provider(&server).api_key_env("WORKFLOW_TEST_UNSET_KEY");
    let ran = run(OneCall, "text", "openai", unset).await;
    let error = ran.outcome().error.unwrap();
    assert!(
        error.contains("provider openai has no API key: set WORKFLOW_TEST_UNSET_KEY"),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_error_row(ran.call(), "text", "no API key");
}

#[tokio::test]
async fn a_retry_after_longer_than_the_backoff_limit_ends_the_retries() {
    let server = MockServer::start().await;
    let limited = json!({"error": {"message": "Rate limit reached", "type": "requests"}});
    chat(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "120")
            .set_body_json(limited),
    )
    .await;
    let started = std::time::Instant::now();
    let ran = run(OneCall, "text", "openai", provider(&server)).await;
    assert_eq!(
        ran.outcome().error.as_deref(),
        Some("openai model model-x: HTTP 429: Rate limit reached")
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no retry before the asked 120 s"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_error_row(ran.call(), "text", "HTTP 429");
}
