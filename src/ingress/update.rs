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
