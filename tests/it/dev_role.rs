//! `ava dev` without a browser: its emulator answers through the whole stack, `/metrics` shows
//! the activity, and with a token it polls the Bot API instead.

use std::time::Duration;

use ava::emulator::Emulator;
use serde_json::{Value, json};

use crate::dev_app::DevApp;

/// Waits (bounded) until chat `chat_id` at `base` has a bot message containing `needle`.
async fn wait_for_reply(http: &reqwest::Client, base: &str, chat_id: i64, needle: &str) -> Value {
    for _ in 0..200 {
        let transcript: Value = http
            .get(format!("{base}/chats/{chat_id}/messages"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(m) = transcript
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["is_bot"] == json!(true) && m["text"].as_str().unwrap().contains(needle))
        {
            return m.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no reply containing {needle:?} within 20 s");
}

#[tokio::test]
async fn dev_answers_through_its_emulator_and_counts_it_in_metrics() {
    let app = DevApp::spawn().await;
    let page = app.http.get(app.url("/chat")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<script src=\"/chat/chat.js\">")
    );
    let js = app.http.get(app.url("/chat/chat.js")).send().await.unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );

    let user = app.post("/emulator/users", json!({ "first_name": "Eve" })).await;
    let eve = user["id"].as_i64().unwrap();
    app.post(
        &format!("/emulator/chats/{eve}/send"),
        json!({ "from": eve, "text": "/help" }),
    )
    .await;
    let reply = wait_for_reply(&app.http, &app.url("/emulator"), eve, "/analyze").await;
    assert!(reply["message_id"].as_i64().unwrap() > 1);

    // The first dev endpoint lists what was sent, with the ids a callback needs.
    let messages = app.get("/emulator/messages").await;
    let first = &messages[0];
    assert_eq!(first["method"], json!("sendMessage"));
    assert_eq!(first["chat_id"], json!(eve));
    assert_eq!(first["message_id"], reply["message_id"]);

    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sent = metrics
        .lines()
        .find(|l| {
            l.starts_with("ava_telegram_requests_total") && l.contains("sendMessage") && l.contains("\"ok\"")
        })
        .unwrap_or_else(|| panic!("no sendMessage count in /metrics:\n{metrics}"));
    assert!(!sent.ends_with(" 0"), "{sent}");
    app.cleanup().await;
}

#[tokio::test]
async fn dev_in_polling_mode_gets_updates_from_its_emulator() {
    let app = DevApp::spawn_with(|fig| {
        fig.merge(figment::providers::Serialized::default("ingress.mode", "polling"))
            .merge(figment::providers::Serialized::default("polling.timeout_secs", 1))
    })
    .await;
    let user = app.post("/emulator/users", json!({ "first_name": "Gil" })).await;
    let gil = user["id"].as_i64().unwrap();
    app.post(
        &format!("/emulator/chats/{gil}/send"),
        json!({ "from": gil, "text": "/help" }),
    )
    .await;
    wait_for_reply(&app.http, &app.url("/emulator"), gil, "/analyze").await;
    let polls = app.get("/emulator/calls?method=getUpdates").await;
    assert!(!polls.as_array().unwrap().is_empty(), "AVA polled");
    let hooks = app.get("/emulator/calls?method=setWebhook").await;
    assert_eq!(hooks, json!([]), "no webhook in polling mode");
    app.cleanup().await;
}

#[tokio::test]
async fn dev_with_a_token_polls_the_bot_api() {
    // An emulator stands in for api.telegram.org.
    let telegram = Emulator::start(Some("77:REAL-LOOKING".into())).await.unwrap();
    let api_url = telegram.api_url();
    let app = DevApp::spawn_with(move |fig| {
        fig.merge(figment::providers::Serialized::default(
            "telegram.token",
            "77:REAL-LOOKING",
        ))
        .merge(figment::providers::Serialized::default(
            "telegram.api_url",
            api_url,
        ))
        .merge(figment::providers::Serialized::default("polling.timeout_secs", 1))
    })
    .await;
    let chat = app.http.get(app.url("/chat")).send().await.unwrap();
    assert_eq!(chat.status(), 404, "no chat page when the real Bot API is used");
    let frank = telegram.add_user("Frank", None, None).unwrap().id;
    telegram.send_text(frank, frank, "/help", None).unwrap();
    let http = reqwest::Client::new();
    wait_for_reply(&http, &telegram.api_url(), frank, "/analyze").await;
    assert!(
        telegram.calls().iter().any(|c| c.method == "getUpdates" && c.ok),
        "dev polled getUpdates"
    );
    app.cleanup().await;
    telegram.stop();
}
