//! The little the ingress reads of an update: its id, its kind, its chat and sender, and the
//! lane rules that place it.

use serde::Deserialize;
use serde_json::{Map, Value};
use workers::Lane;

use crate::config::LaneRules;

/// The top level of an update: `update_id` plus exactly one field naming its kind.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// Telegram's update id.
    pub update_id: i64,
    /// When the ingress received the update (ms since the Unix epoch), stamped into the queued
    /// payload by [`stamp_receipt`]; absent in Telegram's own JSON.
    #[serde(default)]
    pub received_at_ms: Option<i64>,
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

/// The key the ingress adds to a queued update: its receipt time.
pub const RECEIVED_AT_MS: &str = "received_at_ms";

/// `body` with `"received_at_ms":now_ms` as its first key. Spliced into the bytes rather than
/// re-serialized, so the rest of Telegram's JSON reaches the worker exactly as sent. `body` is
/// an object with at least `update_id` (the caller parsed it as an [`Envelope`]).
pub fn stamp_receipt(body: &[u8], now_ms: u64) -> Vec<u8> {
    let Some(open) = body.iter().position(|b| *b == b'{') else {
        return body.to_vec();
    };
    let mut stamped = Vec::with_capacity(body.len() + 32);
    stamped.extend_from_slice(&body[..=open]);
    stamped.extend_from_slice(format!("\"{RECEIVED_AT_MS}\":{now_ms},").as_bytes());
    stamped.extend_from_slice(&body[open + 1..]);
    stamped
}

/// The update's bytes without the stamp [`stamp_receipt`] put in front, exactly as Telegram sent
/// them (`None` when the payload carries no stamp).
pub fn unstamp(payload: &[u8]) -> Option<Vec<u8>> {
    let open = payload.iter().position(|b| *b == b'{')?;
    let key = format!("\"{RECEIVED_AT_MS}\":");
    let rest = payload[open + 1..].strip_prefix(key.as_bytes())?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = rest[digits..].strip_prefix(b",")?;
    let mut original = payload[..=open].to_vec();
    original.extend_from_slice(rest);
    Some(original)
}

/// Removes the ingress' stamp from a queued update and returns it: what remains is the update
/// as Telegram sent it (teloxide's types would read an unknown top-level key as an error kind).
pub fn take_receipt(raw: &mut Value) -> Option<i64> {
    raw.as_object_mut()?.remove(RECEIVED_AT_MS)?.as_i64()
}

// The rules are configuration; applying them to an update is the ingress' business, so it lives here.
impl LaneRules {
    /// The lane an update waits in: `high` kinds and commands, `low` kinds, else `normal`.
    pub fn classify(&self, update: &Envelope) -> Lane {
        let kind = update.kind();
        if self.high_kinds.iter().any(|k| k == kind) {
            return Lane::High;
        }
        if kind == "message"
            && let Some(command) = update.text().and_then(crate::conversation::command_of)
            && self.high_commands.iter().any(|c| c == command)
        {
            return Lane::High;
        }
        if self.low_kinds.iter().any(|k| k == kind) {
            return Lane::Low;
        }
        Lane::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receipt_stamp_round_trips_and_leaves_the_update_as_sent() {
        let body = br#" {"update_id":5,"message":{"text":"hi","chat":{"id":1}}}"#;
        let stamped = stamp_receipt(body, 1_700_000_000_123);
        let envelope: Envelope = serde_json::from_slice(&stamped).expect("still an envelope");
        assert_eq!(envelope.received_at_ms, Some(1_700_000_000_123));
        assert_eq!(envelope.kind(), "message");
        let mut raw: Value = serde_json::from_slice(&stamped).unwrap();
        assert_eq!(take_receipt(&mut raw), Some(1_700_000_000_123));
        assert_eq!(raw, serde_json::from_slice::<Value>(body).unwrap());
        assert_eq!(unstamp(&stamped).as_deref(), Some(&body[..]));
        assert_eq!(unstamp(body), None);
    }

    fn rules() -> LaneRules {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        LaneRules {
            high_kinds: words(&["callback_query"]),
            high_commands: words(&["cancel", "stop"]),
            low_kinds: words(&["edited_message", "channel_post", "my_chat_member", "inline_query"]),
        }
    }

    fn lane(json: &str) -> Lane {
        rules().classify(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn lanes_follow_the_rules() {
        assert_eq!(lane(r#"{"update_id":1,"callback_query":{"id":"x"}}"#), Lane::High);
        assert_eq!(
            lane(r#"{"update_id":1,"message":{"text":"/cancel"}}"#),
            Lane::High
        );
        assert_eq!(
            lane(r#"{"update_id":1,"message":{"text":"/stop@ava_bot"}}"#),
            Lane::High
        );
        assert_eq!(
            lane(r#"{"update_id":1,"message":{"text":"/start"}}"#),
            Lane::Normal
        );
        assert_eq!(
            lane(r#"{"update_id":1,"message":{"text":"cancel"}}"#),
            Lane::Normal
        );
        // A command in an edited message does not jump the queue.
        assert_eq!(
            lane(r#"{"update_id":1,"edited_message":{"text":"/cancel"}}"#),
            Lane::Low
        );
        assert_eq!(lane(r#"{"update_id":1,"inline_query":{"query":"x"}}"#), Lane::Low);
        assert_eq!(lane(r#"{"update_id":1,"poll":{}}"#), Lane::Normal);
    }

    #[test]
    fn the_envelope_reads_ids() {
        let update: Envelope = serde_json::from_str(
            r#"{"update_id":9,"callback_query":{"from":{"id":5},"message":{"chat":{"id":-7}}}}"#,
        )
        .unwrap();
        assert_eq!(
            (update.kind(), update.chat_id(), update.user_id()),
            ("callback_query", Some(-7), Some(5))
        );
        assert!(serde_json::from_str::<Envelope>(r#"{"update_id":"9"}"#).is_err());
        assert!(serde_json::from_str::<Envelope>(r#"{"message":{}}"#).is_err());
    }
}
