//! The little the ingress reads of an update: its id, its kind and its chat.

use serde::Deserialize;
use serde_json::{Map, Value};
use workers::Lane;

/// The top level of an update: `update_id` plus exactly one field naming its kind.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// Telegram's update id.
    pub update_id: i64,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

impl Envelope {
    /// The update's kind, e.g. `message` or `callback_query`.
    pub fn kind(&self) -> &str {
        self.rest.keys().next().map(String::as_str).unwrap_or("unknown")
    }

    fn body(&self) -> Option<&Value> {
        self.rest.values().next()
    }

    /// The chat the update belongs to: its ordering key. Falls back to the sender.
    pub fn chat_id(&self) -> Option<i64> {
        let body = self.body()?;
        body.pointer("/chat/id")
            .or_else(|| body.pointer("/message/chat/id"))
            .or_else(|| body.pointer("/from/id"))
            .and_then(Value::as_i64)
    }

    /// The sender, if any.
    pub fn user_id(&self) -> Option<i64> {
        self.body()?.pointer("/from/id").and_then(Value::as_i64)
    }

    /// The message text, if any.
    pub fn text(&self) -> Option<&str> {
        self.body()?.get("text").and_then(Value::as_str)
    }
}

/// The lane an update waits in.
pub fn classify_lane(update: &Envelope) -> Lane {
    match update.kind() {
        "callback_query" => Lane::High,
        "message" => match update.text().and_then(crate::conversation::command_of) {
            Some("cancel" | "stop") => Lane::High,
            _ => Lane::Normal,
        },
        _ => Lane::Low,
    }
}
