//! A fake Bot API: answers `sendMessage` (and every other method) as Telegram does, records each
//! reply with its chat, text and arrival time, and can answer 429 with `retry_after` for a while.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::post,
};
use serde_json::{Value, json};

/// One reply AVA sent.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) chat_id: i64,
    pub(crate) text: String,
}

#[derive(Default)]
struct Inner {
    replies: Vec<Reply>,
    /// Until when every call gets 429, and the retry_after it names.
    throttled_until: Option<(Instant, u64)>,
    /// Calls that arrived while a 429's retry_after was still running for that caller.
    early_retries: u32,
    /// When the last 429 was answered to each chat, with its retry_after.
    last_429: std::collections::HashMap<i64, (Instant, Duration)>,
    next_message_id: i64,
}

/// The fake, serving on a loopback port until dropped with the test.
#[derive(Clone)]
pub(crate) struct FakeTelegram {
    pub(crate) addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTelegram {
    pub(crate) async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/{bot}/{method}", post(answer))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake Bot API");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, inner }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn replies(&self) -> Vec<Reply> {
        self.inner.lock().unwrap().replies.clone()
    }

    /// Answers 429 with `retry_after` to every call for `window`.
    pub(crate) fn throttle(&self, window: Duration, retry_after: u64) {
        self.inner.lock().unwrap().throttled_until = Some((Instant::now() + window, retry_after));
    }

    /// Calls made before a 429's retry_after had passed.
    pub(crate) fn early_retries(&self) -> u32 {
        self.inner.lock().unwrap().early_retries
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((_bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> (axum::http::StatusCode, Json<Value>) {
    let mut inner = inner.lock().unwrap();
    let now = Instant::now();
    let chat = body["chat_id"].as_i64().unwrap_or_default();
    if let Some((until, retry_after)) = inner.throttled_until {
        if now < until {
            // A call to a chat inside the retry_after of that chat's previous 429 disobeys it.
            // Allow a little slack for the network and the limiter's own rounding.
            if let Some(&(at, wait)) = inner.last_429.get(&chat)
                && now + Duration::from_millis(100) < at + wait
            {
                inner.early_retries += 1;
            }
            inner
                .last_429
                .insert(chat, (now, Duration::from_secs(retry_after)));
            return (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"ok": false, "error_code": 429,
                    "description": format!("Too Many Requests: retry after {retry_after}"),
                    "parameters": {"retry_after": retry_after}})),
            );
        }
        inner.throttled_until = None;
    }
    let result = match method.as_str() {
        "sendMessage" => {
            let chat_id = body["chat_id"].as_i64().unwrap_or_default();
            let text = body["text"].as_str().unwrap_or_default().to_owned();
            inner.replies.push(Reply {
                chat_id,
                text: text.clone(),
            });
            inner.next_message_id += 1;
            json!({"message_id": inner.next_message_id, "date": 0,
                "chat": {"id": chat_id, "type": "private"}, "text": text})
        }
        "getMe" => json!({"id": 1, "is_bot": true, "first_name": "AVA", "username": "ava_bot"}),
        _ => json!(true),
    };
    (
        axum::http::StatusCode::OK,
        Json(json!({"ok": true, "result": result})),
    )
}
