//! `POST /emulator/bot<token>/<method>`: the Bot API methods AVA calls, answered with Telegram's
//! envelope (`ok`, `result` / `error_code`, `description`, `parameters.retry_after`) and status.

use std::time::Duration;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    routing::post,
};
use serde_json::{Value, json};

use super::{
    Emulator, MOUNT,
    state::{BOT_ID, BOT_NAME, Call, Message, World, bot_user_json},
};

pub(super) fn routes() -> Router<Emulator> {
    Router::new().route(&format!("{MOUNT}/{{bot}}/{{method}}"), post(call).get(call))
}

/// A refused call: Telegram's `error_code` (also the HTTP status) and `description`.
#[derive(Debug)]
pub(super) struct ApiError {
    code: u16,
    description: String,
    retry_after: Option<u64>,
}

fn bad_request(description: &str) -> ApiError {
    ApiError {
        code: 400,
        description: format!("Bad Request: {description}"),
        retry_after: None,
    }
}

fn answer(result: Result<Value, ApiError>) -> (StatusCode, Json<Value>) {
    match result {
        Ok(result) => (StatusCode::OK, Json(json!({ "ok": true, "result": result }))),
        Err(e) => {
            let mut body = json!({ "ok": false, "error_code": e.code, "description": e.description });
            if let Some(seconds) = e.retry_after {
                body["parameters"] = json!({ "retry_after": seconds });
            }
            let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_REQUEST);
            (status, Json(body))
        }
    }
}

/// Methods the emulator knows; any other gets Telegram's 404.
const METHODS: &[&str] = &[
    "getMe",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendChatAction",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "getUpdates",
    "getFile",
];

async fn call(
    State(emu): State<Emulator>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let not_found = || ApiError {
        code: 404,
        description: "Not Found".into(),
        retry_after: None,
    };
    let Some(token) = bot.strip_prefix("bot") else {
        return answer(Err(not_found()));
    };
    let params: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return answer(Err(bad_request("request body is not a JSON object"))),
        }
    };
    // Telegram matches method names case-insensitively; an unknown one is recorded too.
    let Some(method) = METHODS.iter().find(|m| m.eq_ignore_ascii_case(&method)).copied() else {
        return emu.finish(&method, params, None, None, Err(not_found()));
    };
    if emu.inner.token.as_deref().is_some_and(|t| t != token) {
        let result = Err(ApiError {
            code: 401,
            description: "Unauthorized".into(),
            retry_after: None,
        });
        return emu.finish(method, params, None, None, result);
    }
    let chat_id = params.get("chat_id").map(chat_id_of);
    let known_chat = chat_id.as_ref().and_then(|c| c.as_ref().ok().copied());
    let (delay, fault) = emu.world().faults.hit(method, known_chat);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(f) = fault {
        let result = Err(ApiError {
            code: f.status,
            description: f.description,
            retry_after: f.retry_after,
        });
        return emu.finish(method, params, known_chat, None, result);
    }
    if method == "getUpdates" {
        let result = emu.get_updates(&params).await;
        return emu.finish(method, params, None, None, result);
    }
    let chat_id = match chat_id.transpose() {
        Ok(c) => c,
        Err(e) => return emu.finish(method, params, None, None, Err(e)),
    };
    let mut events = Vec::new();
    let result = {
        let mut world = emu.world();
        dispatch(&mut world, method, &params, chat_id, &mut events)
    };
    if matches!(method, "setWebhook" | "deleteWebhook") && result.is_ok() {
        emu.updates_changed();
    }
    let message_id = result
        .as_ref()
        .ok()
        .and_then(|r| r.get("message_id"))
        .and_then(Value::as_i64)
        .or_else(|| params.get("message_id").and_then(Value::as_i64));
    emu.emit(events);
    emu.finish(method, params, chat_id, message_id, result)
}

impl Emulator {
    /// Records the call and builds its answer.
    fn finish(
        &self,
        method: &str,
        body: Value,
        chat_id: Option<i64>,
        message_id: Option<i64>,
        result: Result<Value, ApiError>,
    ) -> (StatusCode, Json<Value>) {
        let status = result.as_ref().map_or_else(|e| e.code, |_| 200);
        self.world().record(Call {
            seq: 0,
            method: method.to_owned(),
            body,
            ok: result.is_ok(),
            status,
            message_id,
            chat_id,
        });
        answer(result)
    }

    /// getUpdates: confirms updates below `offset`, then answers what waits, long-polling up to
    /// `timeout` seconds when nothing does. 409 while a webhook is set, as Telegram answers.
    async fn get_updates(&self, params: &Value) -> Result<Value, ApiError> {
        let limit = params
            .get("limit")
            .and_then(Value::as_u64)
            .unwrap_or(100)
            .clamp(1, 100) as usize;
        let timeout = params.get("timeout").and_then(Value::as_u64).unwrap_or(0).min(50);
        let offset = params.get("offset").and_then(Value::as_i64);
        let mut changes = self.inner.updates.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        loop {
            {
                let mut world = self.world();
                if !world.webhook.url.is_empty() {
                    return Err(ApiError {
                        code: 409,
                        description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first".into(),
                        retry_after: None,
                    });
                }
                if let Some(offset) = offset {
                    while world
                        .pending
                        .front()
                        .and_then(|u| u["update_id"].as_i64())
                        .is_some_and(|id| id < offset)
                    {
                        world.pending.pop_front();
                    }
                }
                if !world.pending.is_empty() {
                    return Ok(Value::Array(world.pending.iter().take(limit).cloned().collect()));
                }
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return Ok(json!([])) },
                _ = tokio::time::sleep_until(deadline) => return Ok(json!([])),
                _ = self.inner.stop.cancelled() => return Ok(json!([])),
            }
        }
    }
}

/// `chat_id` as Telegram takes it: an integer, or a string of one (`@channel` names are unknown here).
fn chat_id_of(value: &Value) -> Result<i64, ApiError> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| bad_request("chat not found")),
        Value::String(s) => s.parse().map_err(|_| bad_request("chat not found")),
        _ => Err(bad_request("chat not found")),
    }
}

fn text_param(params: &Value) -> Result<String, ApiError> {
    let text = params.get("text").and_then(Value::as_str).unwrap_or_default();
    if text.trim().is_empty() {
        return Err(bad_request("message text is empty"));
    }
    if text.encode_utf16().count() > 4096 {
        return Err(bad_request("message is too long"));
    }
    Ok(text.to_owned())
}

fn markup_param(params: &Value) -> Result<Option<Value>, ApiError> {
    match params.get("reply_markup") {
        None | Some(Value::Null) => Ok(None),
        // Telegram also takes the markup JSON-encoded in a string.
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| bad_request("can't parse reply keyboard markup JSON object")),
        Some(v) => {
            let rows = v.get("inline_keyboard").and_then(Value::as_array);
            let well_formed = rows.is_some_and(|rows| {
                rows.iter().all(|row| {
                    row.as_array().is_some_and(|buttons| {
                        buttons.iter().all(|b| {
                            b["text"].is_string()
                                && b["callback_data"]
                                    .as_str()
                                    .is_none_or(|d| (1..=64).contains(&d.len()))
                        })
                    })
                })
            });
            if !well_formed {
                return Err(bad_request("can't parse inline keyboard button"));
            }
            Ok(Some(v.clone()))
        }
    }
}

fn parse_mode_param(params: &Value) -> Result<Option<String>, ApiError> {
    match params.get("parse_mode").and_then(Value::as_str) {
        None | Some("") => Ok(None),
        Some(m @ ("HTML" | "MarkdownV2" | "Markdown")) => Ok(Some(m.to_owned())),
        Some(_) => Err(bad_request("unsupported parse_mode")),
    }
}

/// A chat the bot may write to: blocked users answer 403; unknown private chats are made up
/// (a user who wrote from elsewhere), unknown groups are "not found".
fn writable_chat(world: &mut World, chat_id: Option<i64>) -> Result<i64, ApiError> {
    let chat_id = chat_id.ok_or_else(|| bad_request("chat_id is empty"))?;
    if !world.chats.contains_key(&chat_id) {
        if chat_id <= 0 {
            return Err(bad_request("chat not found"));
        }
        world.private_chat(chat_id);
    }
    if world.chats[&chat_id].blocked {
        return Err(ApiError {
            code: 403,
            description: "Forbidden: bot was blocked by the user".into(),
            retry_after: None,
        });
    }
    Ok(chat_id)
}

fn dispatch(
    world: &mut World,
    method: &str,
    params: &Value,
    chat_id: Option<i64>,
    events: &mut Vec<Value>,
) -> Result<Value, ApiError> {
    match method {
        "getMe" => {
            let mut me = bot_user_json();
            me["can_join_groups"] = json!(true);
            me["can_read_all_group_messages"] = json!(false);
            me["supports_inline_queries"] = json!(false);
            me["can_connect_to_business"] = json!(false);
            me["has_main_web_app"] = json!(false);
            Ok(me)
        }
        "sendMessage" => {
            let text = text_param(params)?;
            let parse_mode = parse_mode_param(params)?;
            let reply_markup = markup_param(params)?;
            let chat_id = writable_chat(world, chat_id)?;
            let chat = world.chats.get_mut(&chat_id).expect("writable_chat made it");
            let reply_to = params
                .get("reply_to_message_id")
                .or_else(|| params.pointer("/reply_parameters/message_id"))
                .and_then(Value::as_i64);
            let message_id = chat.next_message_id();
            let message = Message {
                message_id,
                from_id: BOT_ID,
                from_name: BOT_NAME.into(),
                is_bot: true,
                date: chrono::Utc::now().timestamp(),
                text,
                parse_mode,
                reply_markup,
                reply_to_message_id: reply_to,
                edits: 0,
                deleted: false,
            };
            chat.messages.insert(message_id, message.clone());
            let api = message.api_json(chat);
            tracing::debug!(target: "emulator", chat_id, message_id, "bot says: {}", message.text);
            events.push(json!({ "type": "message", "chat_id": chat_id, "message": message }));
            Ok(api)
        }
        "editMessageText" | "editMessageReplyMarkup" => {
            let text = if method == "editMessageText" {
                Some((text_param(params)?, parse_mode_param(params)?))
            } else {
                None
            };
            let reply_markup = markup_param(params)?;
            let chat_id = writable_chat(world, chat_id)?;
            let chat = world.chats.get_mut(&chat_id).expect("writable_chat made it");
            let message_id = params
                .get("message_id")
                .and_then(Value::as_i64)
                .ok_or_else(|| bad_request("message identifier is not specified"))?;
            let Some(message) = chat.messages.get_mut(&message_id).filter(|m| !m.deleted) else {
                return Err(bad_request("message to edit not found"));
            };
            if !message.is_bot {
                return Err(bad_request("message can't be edited"));
            }
            let mut edited = message.clone();
            if let Some((text, parse_mode)) = text {
                edited.text = text;
                edited.parse_mode = parse_mode;
            }
            // Without reply_markup an edit removes the keyboard, as Telegram does.
            edited.reply_markup = reply_markup;
            if edited == *message {
                return Err(bad_request(
                    "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                ));
            }
            edited.edits += 1;
            *message = edited.clone();
            let api = edited.api_json(chat);
            events.push(json!({ "type": "edit", "chat_id": chat_id, "message": edited }));
            Ok(api)
        }
        "deleteMessage" => {
            let chat_id = writable_chat(world, chat_id)?;
            let chat = world.chats.get_mut(&chat_id).expect("writable_chat made it");
            let message_id = params.get("message_id").and_then(Value::as_i64).unwrap_or(0);
            let Some(message) = chat.messages.get_mut(&message_id).filter(|m| !m.deleted) else {
                return Err(bad_request("message to delete not found"));
            };
            message.deleted = true;
            events.push(json!({ "type": "delete", "chat_id": chat_id, "message_id": message_id }));
            Ok(json!(true))
        }
        "answerCallbackQuery" => {
            let id = params
                .get("callback_query_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(query) = world.callbacks.get_mut(id).filter(|q| q.answer.is_none()) else {
                return Err(bad_request(
                    "query is too old and response timeout expired or query ID is invalid",
                ));
            };
            let text = params.get("text").and_then(Value::as_str).unwrap_or_default();
            if text.chars().count() > 200 {
                return Err(bad_request("MESSAGE_TOO_LONG"));
            }
            query.answer = Some(text.to_owned());
            query.show_alert = params.get("show_alert").and_then(Value::as_bool).unwrap_or(false);
            events.push(json!({
                "type": "toast",
                "chat_id": query.chat_id,
                "user_id": query.from_id,
                "callback_query_id": id,
                "text": text,
                "show_alert": query.show_alert,
            }));
            Ok(json!(true))
        }
        "sendChatAction" => {
            let chat_id = writable_chat(world, chat_id)?;
            let action = params.get("action").and_then(Value::as_str).unwrap_or_default();
            const ACTIONS: &[&str] = &[
                "typing",
                "upload_photo",
                "record_video",
                "upload_video",
                "record_voice",
                "upload_voice",
                "upload_document",
                "choose_sticker",
                "find_location",
                "record_video_note",
                "upload_video_note",
            ];
            if !ACTIONS.contains(&action) {
                return Err(bad_request("wrong parameter action in request"));
            }
            events.push(json!({ "type": "action", "chat_id": chat_id, "action": action }));
            Ok(json!(true))
        }
        "setWebhook" => {
            let url = params.get("url").and_then(Value::as_str).unwrap_or_default();
            let secret = params.get("secret_token").and_then(Value::as_str);
            if secret.is_some_and(|s| !crate::config::is_valid_secret_token(s)) {
                return Err(bad_request("secret token contains unallowed characters"));
            }
            if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
                return Err(bad_request(
                    "bad webhook: An HTTPS URL must be provided for webhook",
                ));
            }
            if params.get("drop_pending_updates").and_then(Value::as_bool) == Some(true) {
                world.pending.clear();
            }
            world.webhook = super::state::Webhook {
                url: url.to_owned(),
                secret_token: secret.map(str::to_owned),
                max_connections: params.get("max_connections").and_then(Value::as_u64),
                allowed_updates: params.get("allowed_updates").cloned(),
                last_error_date: None,
                last_error_message: None,
            };
            Ok(json!(true))
        }
        "deleteWebhook" => {
            if params.get("drop_pending_updates").and_then(Value::as_bool) == Some(true) {
                world.pending.clear();
            }
            world.webhook = super::state::Webhook::default();
            Ok(json!(true))
        }
        "getWebhookInfo" => {
            let w = &world.webhook;
            let mut info = json!({
                "url": w.url,
                "has_custom_certificate": false,
                "pending_update_count": world.pending.len(),
            });
            if let (Some(date), Some(message)) = (w.last_error_date, &w.last_error_message) {
                info["last_error_date"] = json!(date);
                info["last_error_message"] = json!(message);
            }
            if let Some(n) = w.max_connections {
                info["max_connections"] = json!(n);
            }
            if let Some(kinds) = &w.allowed_updates {
                info["allowed_updates"] = kinds.clone();
            }
            Ok(info)
        }
        // No user sends files here, so every file_id is unknown.
        "getFile" => Err(bad_request("invalid file_id")),
        _ => Err(ApiError {
            code: 404,
            description: "Not Found".into(),
            retry_after: None,
        }),
    }
}
