//! The emulator's client API, for the chat page, tests and load tools: users and chats, sending
//! as a user, pressing buttons, transcripts, the call record, faults, and live events (SSE).

use std::{convert::Infallible, time::Duration};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::{ChatKind, Emulator, Fault, MOUNT, Refused};

pub(super) fn routes() -> Router<Emulator> {
    let at = |p: &str| format!("{MOUNT}{p}");
    Router::new()
        .route(&at("/messages"), get(messages))
        .route(&at("/calls"), get(calls))
        .route(&at("/users"), get(users).post(add_user))
        .route(&at("/chats"), get(chats).post(add_chat))
        .route(&at("/chats/{chat_id}/members"), post(join))
        .route(&at("/chats/{chat_id}/messages"), get(transcript))
        .route(&at("/chats/{chat_id}/send"), post(send))
        .route(&at("/chats/{chat_id}/press"), post(press))
        .route(&at("/callbacks/{id}"), get(callback))
        .route(&at("/faults"), get(faults).post(add_fault).delete(clear_faults))
        .route(&at("/events"), get(events))
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(json!({ "error": self.message }))).into_response()
    }
}

type Answer = Result<Json<Value>, Refused>;

fn to_json<T: serde::Serialize>(value: T) -> Json<Value> {
    Json(serde_json::to_value(value).unwrap_or(Value::Null))
}

/// What the bot sent and edited, in order, with the message ids it assigned (the first dev
/// endpoint; kept for the README's curl).
async fn messages(State(emu): State<Emulator>) -> Json<Value> {
    let sent: Vec<Value> = emu
        .calls()
        .into_iter()
        .filter(|c| c.ok && matches!(c.method.as_str(), "sendMessage" | "editMessageText"))
        .map(|c| json!({ "method": c.method, "chat_id": c.chat_id, "message_id": c.message_id, "body": c.body }))
        .collect();
    Json(Value::Array(sent))
}

#[derive(Deserialize)]
struct CallsQuery {
    method: Option<String>,
    chat_id: Option<i64>,
}

async fn calls(State(emu): State<Emulator>, Query(q): Query<CallsQuery>) -> Json<Value> {
    let calls: Vec<_> = emu
        .calls()
        .into_iter()
        .filter(|c| q.method.as_ref().is_none_or(|m| *m == c.method))
        .filter(|c| q.chat_id.is_none_or(|id| c.chat_id == Some(id)))
        .collect();
    to_json(calls)
}

async fn users(State(emu): State<Emulator>) -> Json<Value> {
    to_json(emu.users())
}

#[derive(Deserialize)]
struct NewUser {
    first_name: String,
    username: Option<String>,
    id: Option<i64>,
}

async fn add_user(State(emu): State<Emulator>, Json(u): Json<NewUser>) -> Answer {
    Ok(to_json(emu.add_user(&u.first_name, u.username, u.id)?))
}

async fn chats(State(emu): State<Emulator>) -> Json<Value> {
    to_json(emu.chats())
}

#[derive(Deserialize)]
struct NewChat {
    #[serde(rename = "type")]
    kind: ChatKind,
    /// Private: whose chat.
    user_id: Option<i64>,
    /// Group: its title and members.
    title: Option<String>,
    #[serde(default)]
    members: Vec<i64>,
}

async fn add_chat(State(emu): State<Emulator>, Json(c): Json<NewChat>) -> Answer {
    match c.kind {
        // A private chat exists with its user; this answers it.
        ChatKind::Private => {
            let user_id = c
                .user_id
                .ok_or_else(|| super::state::refused(400, "a private chat needs user_id"))?;
            let chat = emu
                .chats()
                .into_iter()
                .find(|chat| chat.id == user_id)
                .ok_or_else(|| super::state::refused(404, format!("no user {user_id}")))?;
            Ok(to_json(chat))
        }
        ChatKind::Group => Ok(to_json(
            emu.add_group(c.title.as_deref().unwrap_or_default(), &c.members)?,
        )),
    }
}

#[derive(Deserialize)]
struct Member {
    user_id: i64,
}

async fn join(State(emu): State<Emulator>, Path(chat_id): Path<i64>, Json(m): Json<Member>) -> Answer {
    Ok(to_json(emu.join(chat_id, m.user_id)?))
}

async fn transcript(State(emu): State<Emulator>, Path(chat_id): Path<i64>) -> Answer {
    let messages = emu
        .transcript(chat_id)
        .ok_or_else(|| super::state::refused(404, format!("no chat {chat_id}")))?;
    Ok(to_json(messages))
}

#[derive(Deserialize)]
struct Say {
    from: i64,
    text: String,
    reply_to_message_id: Option<i64>,
}

async fn send(State(emu): State<Emulator>, Path(chat_id): Path<i64>, Json(s): Json<Say>) -> Answer {
    let (update_id, message_id) = emu.send_text(chat_id, s.from, &s.text, s.reply_to_message_id)?;
    Ok(Json(json!({ "update_id": update_id, "message_id": message_id })))
}

#[derive(Deserialize)]
struct Press {
    from: i64,
    message_id: i64,
    /// The button's callback data or its label.
    button: String,
}

async fn press(State(emu): State<Emulator>, Path(chat_id): Path<i64>, Json(p): Json<Press>) -> Answer {
    let (update_id, id) = emu.press(chat_id, p.from, p.message_id, &p.button)?;
    Ok(Json(json!({ "update_id": update_id, "callback_query_id": id })))
}

async fn callback(State(emu): State<Emulator>, Path(id): Path<String>) -> Answer {
    let query = emu
        .callback(&id)
        .ok_or_else(|| super::state::refused(404, format!("no callback query {id}")))?;
    Ok(to_json(query))
}

async fn faults(State(emu): State<Emulator>) -> Json<Value> {
    to_json(emu.faults())
}

async fn add_fault(State(emu): State<Emulator>, Json(f): Json<Fault>) -> Answer {
    emu.add_fault(f)?;
    Ok(to_json(emu.faults()))
}

async fn clear_faults(State(emu): State<Emulator>) -> Json<Value> {
    emu.clear_faults();
    Json(json!([]))
}

#[derive(Deserialize)]
struct EventsQuery {
    chat_id: Option<i64>,
}

/// Server-sent events: every change of the world (or of one chat), as it happens. A client that
/// falls behind gets `{"type": "resync"}` and should read the transcript again.
async fn events(State(emu): State<Emulator>, Query(q): Query<EventsQuery>) -> impl IntoResponse {
    let rx = emu.subscribe();
    let stop = emu.inner.stop.clone();
    let stream = futures::stream::unfold((rx, stop), move |(mut rx, stop)| async move {
        loop {
            let event = tokio::select! {
                e = rx.recv() => e,
                _ = stop.cancelled() => return None,
            };
            let value = match event {
                Ok(v) => v,
                Err(RecvError::Lagged(_)) => json!({ "type": "resync" }),
                Err(RecvError::Closed) => return None,
            };
            let wanted = q
                .chat_id
                .is_none_or(|id| value["chat_id"].as_i64().is_none_or(|c| c == id));
            if wanted {
                let event = Event::default().data(value.to_string());
                return Some((Ok::<_, Infallible>(event), (rx, stop)));
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
