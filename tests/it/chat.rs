//! Helpers for scripted conversations: updates to post, the fake Bot API's other methods, and
//! reading back what AVA sent.

use std::time::Duration;

use ava::{
    config::Settings,
    worker::{Step, Worker},
};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{method, path_regex},
};

use crate::harness::{SECRET, TestApp};

/// The private chat of the scripted user.
pub(crate) const CHAT: i64 = 424242001;

/// A text message update.
pub(crate) fn message(update_id: i64, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100_000,
            "date": 1763856000,
            "chat": { "id": CHAT, "type": "private", "first_name": "Dana" },
            "from": { "id": CHAT, "is_bot": false, "first_name": "Dana" },
            "text": text
        }
    }))
    .unwrap()
}

/// A callback query update: a tap on a button with `data` on message 500.
pub(crate) fn tap(update_id: i64, data: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("cbq-{update_id}"),
            "from": { "id": CHAT, "is_bot": false, "first_name": "Dana" },
            "message": {
                "message_id": 500,
                "from": { "id": 7000000001u64, "is_bot": true, "first_name": "AVA" },
                "chat": { "id": CHAT, "type": "private", "first_name": "Dana" },
                "date": 1763856040,
                "text": "…"
            },
            "chat_instance": "-8822334455667788",
            "data": data
        }
    }))
    .unwrap()
}

/// Answers the Bot API methods besides sendMessage that conversations use.
pub(crate) async fn mount_bot_methods(app: &TestApp) {
    Mock::given(method("POST"))
        .and(path_regex(r"^/bot[^/]+/(answerCallbackQuery|editMessageText)$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "ok": true, "result": true })))
        .mount(&app.telegram)
        .await;
}

/// Posts `body` to the webhook and runs the worker until the queue is empty.
pub(crate) async fn say(app: &TestApp, worker: &Worker, body: Vec<u8>) {
    assert_eq!(app.post_update(body, Some(SECRET)).await, 200);
    drain(worker).await;
}

/// Steps `worker` until no job is left (bounded), asserting every job ended done.
pub(crate) async fn drain(worker: &Worker) {
    for _ in 0..50 {
        match worker
            .try_execute_one(Duration::from_millis(100))
            .await
            .expect("worker step")
        {
            Step::Ran(outcome) => assert_eq!(outcome, workers::Outcome::Done, "a job did not finish"),
            Step::Empty => return,
        }
    }
    panic!("queue not drained after 50 jobs");
}

/// Every Bot API call so far: (method, body).
pub(crate) async fn calls(app: &TestApp) -> Vec<(String, Value)> {
    app.telegram
        .received_requests()
        .await
        .expect("recording on")
        .iter()
        // Bot API methods are POSTs with JSON; file downloads (GET) are not calls.
        .filter(|r| r.method == wiremock::http::Method::POST)
        .map(|r| {
            let method = r.url.path().rsplit('/').next().unwrap_or_default().to_owned();
            (method, serde_json::from_slice(&r.body).expect("JSON body"))
        })
        .collect()
}

/// Texts of the sendMessage calls so far.
pub(crate) async fn sent(app: &TestApp) -> Vec<String> {
    calls(app)
        .await
        .into_iter()
        .filter(|(m, _)| m == "sendMessage")
        .map(|(_, b)| b["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The last sendMessage text, which must contain `needle`.
pub(crate) async fn last_sent_contains(app: &TestApp, needle: &str) -> String {
    let texts = sent(app).await;
    let last = texts.last().cloned().unwrap_or_default();
    assert!(
        last.contains(needle),
        "expected {needle:?} in the last reply, got {last:?}\nall: {texts:#?}"
    );
    last
}

/// Callback data of the button labelled starting with `label` in the last message that had a keyboard.
pub(crate) async fn button(app: &TestApp, label: &str) -> String {
    let calls = calls(app).await;
    let keyboard = calls
        .iter()
        .rev()
        .find_map(|(_, b)| b.pointer("/reply_markup/inline_keyboard").cloned())
        .expect("a message with buttons");
    keyboard
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().clone())
        .find(|b| b["text"].as_str().unwrap().starts_with(label))
        .and_then(|b| b["callback_data"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no button {label:?} in {keyboard}"))
}

/// Settings of `app` changed by `change`, for a second worker (another process, or a restart).
pub(crate) fn settings_with(app: &TestApp, change: impl FnOnce(&mut Settings)) -> Settings {
    let mut settings = app.settings.clone();
    change(&mut settings);
    settings.validate().expect("changed settings are valid");
    settings
}

/// Number of orders in this test's schema.
pub(crate) async fn orders(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .expect("orders table")
}
