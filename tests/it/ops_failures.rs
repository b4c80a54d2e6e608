//! A user whose update is dead-lettered gets one short apology, and their conversation is reset.

use std::time::Duration;

use ava::worker::{APOLOGY, Step};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_string_contains, method, path_regex},
};
use workers::Outcome;

use crate::harness::{SECRET, TestApp};

const CHAT: i64 = 424242001;

fn message(update_id: i64, text: &str) -> Vec<u8> {
    let entities = if text.starts_with('/') {
        json!([{ "offset": 0, "length": text.len(), "type": "bot_command" }])
    } else {
        json!([])
    };
    serde_json::to_vec(&json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 1763856000, "text": text, "entities": entities,
            "from": { "id": CHAT, "is_bot": false, "first_name": "Dana" },
            "chat": { "id": CHAT, "type": "private", "first_name": "Dana" }
        }
    }))
    .unwrap()
}

/// The chat's conversation state as stored in Redis (`idle` when none).
async fn state_of(app: &TestApp) -> String {
    let mut conn = app.redis.clone();
    let raw: Option<String> = redis::cmd("HGET")
        .arg(format!("{}:conv:{{{CHAT}}}", app.settings.redis.prefix))
        .arg("s")
        .query_async(&mut conn)
        .await
        .expect("HGET");
    raw.map(|s| {
        serde_json::from_str::<Value>(&s).expect("state JSON")["state"]
            .as_str()
            .unwrap()
            .to_owned()
    })
    .unwrap_or_else(|| "idle".into())
}

async fn sent_texts(app: &TestApp) -> Vec<String> {
    app.telegram
        .received_requests()
        .await
        .expect("recording on")
        .iter()
        .filter(|r| r.url.path().ends_with("/sendMessage"))
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter_map(|b| b["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_dead_lettered_update_gets_one_apology_and_resets_the_conversation() {
    let app = TestApp::spawn().await;
    // Start a conversation: /analyze waits for a ticker.
    assert_eq!(
        app.post_update(message(700001, "/analyze"), Some(SECRET)).await,
        200
    );
    assert_eq!(
        app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
        Step::Ran(Outcome::Done)
    );
    assert_eq!(state_of(&app).await, "awaiting_ticker");

    // From now on Telegram refuses every reply but the apology: a permanent 400.
    Mock::given(method("POST"))
        .and(path_regex(r"^/bot[^/]+/sendMessage$"))
        .and(body_string_contains("Something went wrong"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true,
            "result": { "message_id": 90, "date": 1763856001, "chat": { "id": CHAT, "type": "private" }, "text": "x" }
        })))
        .with_priority(1)
        .mount(&app.telegram)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/bot[^/]+/sendMessage$"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "ok": false, "error_code": 400, "description": "Bad Request: message text is empty"
        })))
        .with_priority(2)
        .mount(&app.telegram)
        .await;
    assert_eq!(app.post_update(message(700002, "/help"), Some(SECRET)).await, 200);
    let step = app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(step, Step::Ran(Outcome::Permanent(_))), "{step:?}");
    // The apology job runs next in the chat's order.
    assert_eq!(
        app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
        Step::Ran(Outcome::Done)
    );
    assert_eq!(
        app.worker
            .try_execute_one(Duration::from_millis(300))
            .await
            .unwrap(),
        Step::Empty,
        "one apology, nothing more"
    );
    let apologies = sent_texts(&app)
        .await
        .into_iter()
        .filter(|t| t == APOLOGY)
        .count();
    assert_eq!(apologies, 1);
    assert_eq!(state_of(&app).await, "idle", "the conversation was reset");
    app.cleanup().await;
}
