//! A stand-in language model for the examples: a local HTTP server speaking OpenAI's chat-completions
//! format, so `ctx.ai()` runs its real HTTP path (request, usage, pricing, `ai_calls` row) with no
//! network and no key. It "summarizes" extractively: the reply is the first sentences of the text after
//! the prompt's first blank line, as many as the prompt's `at most N sentences` asks; usage counts words.
//!
//! [`ai_setup`] routes the model key `gemini-2.5-flash` (the default of the stages' `AiConfig`) to it,
//! priced as the real model, so the runs' `totalCost` is what the real model would have cost for the
//! same token counts.

use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use std::net::SocketAddr;
use workflow_core::ai::providers::OpenAiCompatible;
use workflow_core::ai::{AiSetup, ModelSpec};

/// The running mock; it stops when the process ends.
#[derive(Clone, Debug)]
pub struct MockLlm {
    /// Its OpenAI-style base URL, `http://127.0.0.1:<port>/v1`.
    pub base_url: String,
}

/// Starts the mock on a free loopback port.
pub async fn start() -> std::io::Result<MockLlm> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route("/v1/chat/completions", post(complete));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("the mock model stopped: {error}");
        }
    });
    Ok(MockLlm {
        base_url: format!("http://{addr}/v1"),
    })
}

/// The built-in models, with `gemini-2.5-flash` served by the mock at `mock`.
pub fn ai_setup(mock: &MockLlm) -> AiSetup {
    let flash = ModelSpec::new("gemini-2.5-flash", "mock-llm", "mock-extractive-1")
        .prices(0.30, 2.50)
        .batch_discount(50.0);
    AiSetup::default().register(flash).provider(
        "mock-llm",
        OpenAiCompatible::new("mock-llm", &mock.base_url),
    )
}

async fn complete(Json(request): Json<Value>) -> Json<Value> {
    let prompt = request["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|message| message["content"].as_str())
        .unwrap_or_default();
    let (instruction, text) = prompt.split_once("\n\n").unwrap_or(("", prompt));
    let keep = instruction
        .split_once("at most ")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(2);
    let reply = text
        .split_inclusive('.')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .take(keep)
        .collect::<Vec<_>>()
        .join(" ");
    let words = |s: &str| s.split_whitespace().count();
    Json(json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": request["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": words(prompt), "completion_tokens": words(&reply),
                  "total_tokens": words(prompt) + words(&reply)}
    }))
}
