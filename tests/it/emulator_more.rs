//! The emulator's buttons and toasts, faults on demand, live events and webhook delivery.

use std::time::Duration;

use ava::{
    emulator::{Fault, FaultKind},
    telegram::TelegramError,
};
use serde_json::{Value, json};

use crate::emulator::Emu;

#[tokio::test]
async fn a_press_carries_its_message_and_the_answer_shows_as_a_toast() {
    let e = Emu::start().await;
    let ann = e.post("/users", json!({ "first_name": "Ann" })).await["id"]
        .as_i64()
        .unwrap();
    let bob = e.post("/users", json!({ "first_name": "Bob" })).await["id"]
        .as_i64()
        .unwrap();
    let group = e
        .post(
            "/chats",
            json!({ "type": "group", "title": "Desk", "members": [ann, bob] }),
        )
        .await;
    let group = group["id"].as_i64().unwrap();
    assert!(group < 0);
    let keyboard = json!({ "inline_keyboard": [[{ "text": "✅ Yes", "callback_data": "confirm:yes" }]] });
    let (_, sent) = e
        .bot(
            "sendMessage",
            json!({ "chat_id": group, "text": "Execute?", "reply_markup": keyboard }),
        )
        .await;
    let message_id = sent["result"]["message_id"].as_i64().unwrap();
    let mut events = e.emu.subscribe();

    let pressed = e
        .post(
            &format!("/chats/{group}/press"),
            json!({ "from": bob, "message_id": message_id, "button": "✅ Yes" }),
        )
        .await;
    let query_id = pressed["callback_query_id"].as_str().unwrap().to_owned();
    let (_, updates) = e.bot("getUpdates", json!({})).await;
    let query = &updates["result"][0]["callback_query"];
    assert_eq!(query["data"], json!("confirm:yes"));
    assert_eq!(query["from"]["id"], json!(bob));
    assert_eq!(query["message"]["message_id"], json!(message_id));
    assert_eq!(query["message"]["chat"]["id"], json!(group));
    assert_eq!(query["id"], json!(query_id));

    let (status, _) = e
        .bot(
            "answerCallbackQuery",
            json!({ "callback_query_id": query_id, "text": "Placing the order…" }),
        )
        .await;
    assert_eq!(status, 200);
    let toast = loop {
        let event = events.recv().await.unwrap();
        if event["type"] == "toast" {
            break event;
        }
    };
    assert_eq!(toast["text"], json!("Placing the order…"));
    assert_eq!(toast["chat_id"], json!(group));
    assert_eq!(
        e.get(&format!("/callbacks/{query_id}")).await["answer"],
        json!("Placing the order…")
    );
    let (status, _) = e
        .bot("answerCallbackQuery", json!({ "callback_query_id": query_id }))
        .await;
    assert_eq!(status, 400, "a query is answered once");
    let answers = e.get("/calls?method=answerCallbackQuery").await;
    assert_eq!(answers.as_array().unwrap().len(), 2, "both answers are recorded");

    let (status, _) = e
        .api(
            reqwest::Method::POST,
            &format!("/chats/{group}/press"),
            Some(json!({ "from": bob, "message_id": message_id, "button": "No" })),
        )
        .await;
    assert_eq!(status, 400, "no such button");
    let carol = e.post("/users", json!({ "first_name": "Carol" })).await["id"]
        .as_i64()
        .unwrap();
    let (status, _) = e
        .api(
            reqwest::Method::POST,
            &format!("/chats/{group}/send"),
            Some(json!({ "from": carol, "text": "hi" })),
        )
        .await;
    assert_eq!(status, 403, "not a member");
    e.post(&format!("/chats/{group}/members"), json!({ "user_id": carol }))
        .await;
    e.post(
        &format!("/chats/{group}/send"),
        json!({ "from": carol, "text": "hi", "reply_to_message_id": message_id }),
    )
    .await;
    let (_, updates) = e
        .bot(
            "getUpdates",
            json!({ "offset": updates["result"][0]["update_id"].as_i64().unwrap() + 1 }),
        )
        .await;
    assert_eq!(
        updates["result"][0]["message"]["reply_to_message"]["from"]["is_bot"],
        json!(true)
    );
    e.emu.stop();
}

#[tokio::test]
async fn faults_come_on_demand_per_chat_or_for_all() {
    let e = Emu::start().await;
    let ann = e.post("/users", json!({ "first_name": "Ann" })).await["id"]
        .as_i64()
        .unwrap();
    let bob = e.post("/users", json!({ "first_name": "Bob" })).await["id"]
        .as_i64()
        .unwrap();
    let bot = e.client(1);

    e.post(
        "/faults",
        json!({ "kind": "retry_after", "retry_after": 3, "chat_id": ann, "times": 1 }),
    )
    .await;
    let (status, body) = e.bot("sendMessage", json!({ "chat_id": ann, "text": "x" })).await;
    assert_eq!(status, 429);
    assert_eq!(body["parameters"]["retry_after"], json!(3));
    assert_eq!(body["description"], json!("Too Many Requests: retry after 3"));
    assert!(bot.send_message(ann, "again").await.is_ok(), "one time only");

    e.emu
        .add_fault(Fault {
            kind: FaultKind::RetryAfter { retry_after: 2 },
            chat_id: Some(ann),
            method: None,
            times: None,
        })
        .unwrap();
    let err = bot.send_message(ann, "x").await.unwrap_err();
    assert!(
        matches!(err, TelegramError::RetryAfter(d) if d == Duration::from_secs(2)),
        "{err:?}"
    );
    assert!(bot.send_message(bob, "other chats are spared").await.is_ok());
    e.api(reqwest::Method::DELETE, "/faults", None).await;

    e.post(
        "/faults",
        json!({ "kind": "server_error", "status": 502, "method": "sendMessage" }),
    )
    .await;
    let err = bot.send_message(bob, "x").await.unwrap_err();
    assert!(matches!(err, TelegramError::Transient(_)), "{err:?}");
    assert!(bot.get_me().await.is_ok(), "only sendMessage fails");
    e.emu.clear_faults();

    e.post("/faults", json!({ "kind": "blocked", "chat_id": bob }))
        .await;
    let err = bot.send_message(bob, "x").await.unwrap_err();
    assert!(err.is_chat_unreachable(), "{err:?}");
    e.emu.clear_faults();

    // Slower than the client's 1 s timeout: the call times out as a network error.
    e.post("/faults", json!({ "kind": "slow", "delay_ms": 3000, "times": 1 }))
        .await;
    let err = bot.send_message(ann, "x").await.unwrap_err();
    assert!(matches!(err, TelegramError::Transient(_)), "{err:?}");

    let (status, _) = e
        .api(
            reqwest::Method::POST,
            "/faults",
            Some(json!({ "kind": "server_error", "status": 404 })),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = e
        .api(
            reqwest::Method::POST,
            "/faults",
            Some(json!({ "kind": "gremlins" })),
        )
        .await;
    assert_eq!(status, 422);
    e.emu.stop();
}

#[tokio::test]
async fn events_stream_what_happens_in_a_chat() {
    let e = Emu::start().await;
    let ann = e.post("/users", json!({ "first_name": "Ann" })).await["id"]
        .as_i64()
        .unwrap();
    let mut stream = e
        .http
        .get(format!("{}/events?chat_id={ann}", e.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    e.post(
        &format!("/chats/{ann}/send"),
        json!({ "from": ann, "text": "hello" }),
    )
    .await;
    e.bot("sendMessage", json!({ "chat_id": ann, "text": "hi Ann" }))
        .await;
    let mut seen = String::new();
    while !seen.contains("hi Ann") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data: Vec<Value> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(data[0]["message"]["text"], json!("hello"));
    assert_eq!(data[1]["message"]["is_bot"], json!(true));
    e.emu.stop();
}

#[tokio::test]
async fn webhook_delivery_posts_in_order_with_the_secret_and_retries() {
    use std::sync::{Arc, Mutex};
    // A receiver that refuses the first POST, then takes the rest.
    // (secret header, update) of each POST received.
    type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;
    let got: Received = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, axum::Json(update): axum::Json<Value>| {
                let sink = sink.clone();
                async move {
                    let mut got = sink.lock().unwrap();
                    let secret = headers
                        .get("x-telegram-bot-api-secret-token")
                        .map(|v| v.to_str().unwrap().to_owned());
                    got.push((secret, update));
                    if got.len() == 1 {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let e = Emu::start().await;
    let ann = e.post("/users", json!({ "first_name": "Ann" })).await["id"]
        .as_i64()
        .unwrap();
    let (status, _) = e
        .bot(
            "setWebhook",
            json!({ "url": hook, "secret_token": "hook-secret" }),
        )
        .await;
    assert_eq!(status, 200);
    for text in ["one", "two", "three"] {
        e.post(
            &format!("/chats/{ann}/send"),
            json!({ "from": ann, "text": text }),
        )
        .await;
    }
    let mut changes = e.emu.subscribe();
    // Delivery is asynchronous: wait (bounded) until nothing is pending.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while e.emu.pending_updates() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "updates not delivered");
        let _ = tokio::time::timeout(Duration::from_millis(50), changes.recv()).await;
    }
    let got = got.lock().unwrap().clone();
    let texts: Vec<&str> = got
        .iter()
        .map(|(_, u)| u["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["one", "one", "two", "three"], "retried, then in order");
    assert!(got.iter().all(|(s, _)| s.as_deref() == Some("hook-secret")));
    let ids: Vec<i64> = got
        .iter()
        .map(|(_, u)| u["update_id"].as_i64().unwrap())
        .collect();
    assert!(ids[1] < ids[2] && ids[2] < ids[3], "{ids:?}");
    let (_, info) = e.bot("getWebhookInfo", json!({})).await;
    assert_eq!(info["result"]["pending_update_count"], json!(0));
    assert!(
        info["result"]["last_error_message"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{info}"
    );
    e.emu.stop();
}
