//! One update from webhook to reply and log rows.

use std::time::Duration;

use ava::worker::Step;
use serde_json::Value;
use workers::Outcome;

use crate::harness::{SECRET, TestApp, fixture};

#[tokio::test]
async fn start_gets_a_welcome_and_both_rows_are_logged() {
    let app = TestApp::spawn().await;

    let status = app.post_update(fixture("message_start.json"), Some(SECRET)).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
        Step::Ran(Outcome::Done)
    );

    let requests = app.telegram.received_requests().await.expect("recording on");
    let sends: Vec<Value> = requests
        .iter()
        .filter(|r| r.url.path().ends_with("/sendMessage"))
        .map(|r| serde_json::from_slice(&r.body).expect("JSON body"))
        .collect();
    assert_eq!(sends.len(), 1, "exactly one sendMessage");
    assert_eq!(sends[0]["chat_id"], 424242001);
    assert!(sends[0]["text"].as_str().unwrap().starts_with("Welcome to AVA"));
    // Log rows are written in the background, in batches: flush before reading Postgres.
    app.worker.log().flush().await;

    let (kind, text): (String, Option<String>) =
        sqlx::query_as("SELECT kind, text FROM message_log WHERE update_id = 100000001")
            .fetch_one(&app.db)
            .await
            .expect("message_log row for update 100000001");
    assert_eq!((kind.as_str(), text.as_deref()), ("message", Some("/start")));
    let (chat_id, status, message_id): (i64, String, Option<i64>) =
        sqlx::query_as("SELECT chat_id, status, message_id FROM outbound_log WHERE update_id = 100000001")
            .fetch_one(&app.db)
            .await
            .expect("outbound_log row for the reply");
    assert_eq!(
        (chat_id, status.as_str(), message_id),
        (424242001, "sent", Some(77))
    );

    app.cleanup().await;
}

#[tokio::test]
async fn wrong_or_missing_secret_gets_401_and_queues_nothing() {
    let app = TestApp::spawn().await;

    assert_eq!(
        app.post_update(fixture("message_start.json"), Some("wrong"))
            .await,
        401
    );
    assert_eq!(app.post_update(fixture("message_start.json"), None).await, 401);
    assert!(app.redis_keys().await.is_empty(), "nothing written to Redis");
    assert_eq!(
        app.worker
            .try_execute_one(Duration::from_millis(200))
            .await
            .unwrap(),
        Step::Empty
    );
    assert!(app.telegram.received_requests().await.unwrap().is_empty());

    app.cleanup().await;
}

#[tokio::test]
async fn help_lists_commands_and_unknown_text_points_to_help() {
    let app = TestApp::spawn().await;

    let help = br#"{"update_id": 100000101, "message": {"message_id": 1, "date": 1763856000,
        "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "text": "/help"}}"#;
    let other = br#"{"update_id": 100000102, "message": {"message_id": 2, "date": 1763856000,
        "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "text": "hello"}}"#;
    assert_eq!(app.post_update(help.to_vec(), Some(SECRET)).await, 200);
    assert_eq!(app.post_update(other.to_vec(), Some(SECRET)).await, 200);
    for _ in 0..2 {
        assert_eq!(
            app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
            Step::Ran(Outcome::Done)
        );
    }
    let texts: Vec<String> = app
        .telegram
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(
        texts[0].contains("/help") && texts[0].contains("/start"),
        "{}",
        texts[0]
    );
    assert_eq!(texts[1], "I don't know that yet, try /help");

    app.cleanup().await;
}
