//! The optional language model, against local fakes of Anthropic's Messages API (tool use) and
//! an OpenAI-compatible chat completions API (tool calls): what the parser cannot place goes to
//! the model, its answer is validated like typed text, and the daily budget holds.

use figment::providers::Serialized;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{header, method, path},
};

use crate::{
    chat::{last_sent_contains, message, mount_bot_methods, say},
    harness::TestApp,
};

const ODD_TEXT: &str = "what is the fruit company trading for these days";

fn request_json(r: &Request) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// Anthropic: `POST /v1/messages`, forced `ava_intent` tool, answer in a `tool_use` block.
async fn fake_anthropic(input: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "test-nlu-key"))
        .and(header("anthropic-version", "2023-06-01"))
        .and(|r: &Request| {
            let body = request_json(r);
            body["tool_choice"] == json!({ "type": "tool", "name": "ava_intent" })
                && body["tools"][0]["input_schema"]["properties"]["intent"]["enum"].is_array()
                && body["messages"][0]["content"] == ODD_TEXT
                && body["model"] == "claude-test"
                && body["max_tokens"].is_u64()
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [
                { "type": "text", "text": "Looking that up." },
                { "type": "tool_use", "id": "toolu_01", "name": "ava_intent", "input": input }
            ],
            "stop_reason": "tool_use",
            "usage": { "input_tokens": 412, "output_tokens": 38 }
        })))
        .mount(&server)
        .await;
    server
}

/// OpenAI-compatible: `POST /v1/chat/completions`, forced function, arguments as a JSON string.
async fn fake_openai(arguments: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer test-nlu-key"))
        .and(|r: &Request| {
            let body = request_json(r);
            body["tool_choice"] == json!({ "type": "function", "function": { "name": "ava_intent" } })
                && body["tools"][0]["function"]["parameters"]["required"] == json!(["intent"])
                && body["messages"][1]["content"] == ODD_TEXT
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1764460000,
            "model": "gpt-test",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "tool_calls": [{
                        "id": "call_1",
                        "type": "function",
                        "function": { "name": "ava_intent", "arguments": arguments.to_string() }
                    }]
                },
                "finish_reason": "tool_calls"
            }],
            "usage": { "prompt_tokens": 400, "completion_tokens": 30, "total_tokens": 430 }
        })))
        .mount(&server)
        .await;
    server
}

async fn app_with_model(provider: &str, server: &MockServer, model: &str, daily: u32) -> TestApp {
    let (provider, uri, model) = (provider.to_owned(), server.uri(), model.to_owned());
    TestApp::spawn_with(move |fig| {
        fig.merge(Serialized::default("nlu.provider", provider))
            .merge(Serialized::default("nlu.base_url", uri))
            .merge(Serialized::default("nlu.model", model))
            .merge(Serialized::default("nlu.api_key", "test-nlu-key"))
            .merge(Serialized::default("nlu.daily_requests_per_user", daily))
    })
    .await
}

#[tokio::test]
async fn anthropic_tool_use_answer_runs_the_validated_intent_within_the_budget() {
    let server = fake_anthropic(json!({ "intent": "price", "symbols": ["AAPL"] })).await;
    let app = app_with_model("anthropic", &server, "claude-test", 1).await;
    mount_bot_methods(&app).await;
    say(&app, &app.worker, message(810_001, ODD_TEXT)).await;
    last_sent_contains(&app, "AAPL $").await;
    // Text the parser places never reaches the model.
    say(&app, &app.worker, message(810_002, "price of msft")).await;
    last_sent_contains(&app, "MSFT $").await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // The budget (1 a day) is spent: not understood, and the model is not asked.
    say(&app, &app.worker, message(810_003, ODD_TEXT)).await;
    last_sent_contains(&app, "all the free-form questions I can for you today").await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn openai_compatible_tool_calls_are_validated_and_general_answers_marked() {
    // A model answer naming no plausible ticker is refused like bad typed input.
    let server = fake_openai(json!({ "intent": "price", "symbols": ["not a ticker!"] })).await;
    let app = app_with_model("openai_compatible", &server, "gpt-test", 5).await;
    say(&app, &app.worker, message(820_001, ODD_TEXT)).await;
    last_sent_contains(&app, "I don't know that yet").await;
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    app.cleanup().await;

    let server = fake_openai(json!({
        "intent": "answer",
        "answer": "Apple designs phones and computers; its shares trade as AAPL."
    }))
    .await;
    let app = app_with_model("openai_compatible", &server, "gpt-test", 5).await;
    say(&app, &app.worker, message(820_002, ODD_TEXT)).await;
    last_sent_contains(
        &app,
        "💬 General answer (written by a language model, not advice):\nApple designs",
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn a_failing_model_opens_its_breaker_and_the_user_gets_an_answer_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let uri = server.uri();
    let app = TestApp::spawn_with(move |fig| {
        fig.merge(Serialized::default("nlu.provider", "anthropic"))
            .merge(Serialized::default("nlu.base_url", uri))
            .merge(Serialized::default("nlu.model", "claude-test"))
            .merge(Serialized::default("nlu.breaker_failures", 2))
    })
    .await;
    for i in 0..4 {
        say(&app, &app.worker, message(830_001 + i, ODD_TEXT)).await;
        last_sent_contains(&app, "I don't know that yet").await;
    }
    // Two failures opened the breaker: the last two messages were answered without a call.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    say(&app, &app.worker, message(830_010, "/status")).await;
    last_sent_contains(&app, "Language model: 🔴 paused after failures").await;
    app.cleanup().await;
}
