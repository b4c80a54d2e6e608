//! A small Bot API emulator for `ava dev`: it accepts the calls AVA makes and keeps the
//! messages, so a newcomer sees replies without a bot token or internet access.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicI64, Ordering},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, post},
};
use serde_json::{Value, json};

/// Where the emulator is mounted on the dev server.
pub const MOUNT: &str = "/emulator";

#[derive(Clone, Default)]
struct Emulator {
    sent: Arc<Mutex<Vec<Value>>>,
    next_id: Arc<AtomicI64>,
}

/// Routes: `POST /emulator/bot<token>/<method>` and `GET /emulator/messages`.
pub fn router() -> Router {
    Router::new()
        .route(&format!("{MOUNT}/{{bot}}/{{method}}"), post(call))
        .route(&format!("{MOUNT}/messages"), get(messages))
        .with_state(Emulator::default())
}

async fn call(
    State(emu): State<Emulator>,
    Path((_bot, method)): Path<(String, String)>,
    body: Json<Value>,
) -> Json<Value> {
    let Json(body) = body;
    let result = match method.as_str() {
        "sendMessage" | "editMessageText" => {
            let message_id = emu.next_id.fetch_add(1, Ordering::Relaxed) + 1;
            let chat_id = body.get("chat_id").cloned().unwrap_or(Value::Null);
            let text = body.get("text").and_then(Value::as_str).unwrap_or_default();
            tracing::info!(target: "emulator", %chat_id, "bot says: {text}");
            let message = json!({
                "message_id": message_id,
                "date": chrono::Utc::now().timestamp(),
                "chat": { "id": chat_id, "type": "private" },
                "text": text,
            });
            emu.sent
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(json!({ "method": method, "body": body }));
            message
        }
        "getMe" => {
            json!({ "id": 1, "is_bot": true, "first_name": "AVA (emulated)", "username": "ava_dev_bot" })
        }
        // Nothing to deliver; hold the poll briefly as Telegram's long poll would.
        "getUpdates" => {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            json!([])
        }
        _ => Value::Bool(true),
    };
    Json(json!({ "ok": true, "result": result }))
}

async fn messages(State(emu): State<Emulator>) -> Json<Value> {
    Json(Value::Array(
        emu.sent.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    ))
}
