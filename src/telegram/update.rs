//! Telegram's inbound wire format, read in one place: the update's envelope (id, kind, chat,
//! sender, text), the one command parser (`/Name@bot args`, case-insensitive), the lane rules'
//! input, and [`Inbound`], the update decoded once per job that the log row, the conversation
//! event and the job's span all read.

use serde::Deserialize;
use serde_json::{Map, Value};
use teloxide_core::types::Update;
use workers::Lane;

use crate::config::LaneRules;

/// The top level of an update: `update_id` plus exactly one field naming its kind.
#[derive(Debug, Clone, Deserialize)]
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

    /// The sender's object (`from`), if any.
    pub fn sender(&self) -> Option<&Map<String, Value>> {
        self.body()?.get("from")?.as_object()
    }

    /// The message text, if any.
    pub fn text(&self) -> Option<&str> {
        self.body()?.get("text").and_then(Value::as_str)
    }

    /// The command a message's text starts with, if any.
    pub fn command(&self) -> Option<BotCommand<'_>> {
        self.text().and_then(BotCommand::parse)
    }

    /// The update as Telegram sent it, as JSON (for the record).
    pub fn to_value(&self) -> Value {
        let mut map = Map::with_capacity(self.rest.len() + 1);
        map.insert("update_id".into(), self.update_id.into());
        map.extend(self.rest.iter().map(|(k, v)| (k.clone(), v.clone())));
        Value::Object(map)
    }
}

/// A bot command at the start of a message: `/Price@ava_bot AAPL` is `price`, mentioning
/// `ava_bot`, with arguments `AAPL`. The one parser every module uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCommand<'a> {
    /// The command's name, lower-cased, without the slash.
    pub name: String,
    /// The bot named after `@`, if any (as written).
    pub mention: Option<&'a str>,
    /// Everything after the command word, trimmed.
    pub args: &'a str,
}

impl<'a> BotCommand<'a> {
    /// The command `text` starts with; `None` when it does not start with `/name`.
    pub fn parse(text: &'a str) -> Option<Self> {
        let text = text.trim();
        let first = text.split_whitespace().next()?;
        let word = first.strip_prefix('/')?;
        let (name, mention) = match word.split_once('@') {
            Some((name, bot)) => (name, Some(bot)),
            None => (word, None),
        };
        if name.is_empty() {
            return None;
        }
        Some(Self {
            name: name.to_lowercase(),
            mention: mention.filter(|m| !m.is_empty()),
            args: text[first.len()..].trim(),
        })
    }

    /// Whether the command is for this bot: it names no bot, or names `bot_username` (any case).
    /// With no known username every command is taken as ours.
    pub fn is_for(&self, bot_username: &str) -> bool {
        match self.mention {
            None => true,
            Some(bot) => bot_username.is_empty() || bot.eq_ignore_ascii_case(bot_username),
        }
    }
}

/// An update decoded once per job: the envelope every reader shares, and Telegram's typed
/// update for the conversation (or why teloxide could not read it).
#[derive(Debug, Clone)]
pub struct Inbound {
    envelope: Envelope,
    update: Result<Update, String>,
}

impl Inbound {
    /// Decodes a queued update; `Err` when it is not JSON or has no integer `update_id`.
    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        let envelope: Envelope =
            serde_json::from_slice(payload).map_err(|e| format!("payload is not an update: {e}"))?;
        // From the bytes, not from the envelope: teloxide's types do not round-trip through `Value`.
        let update = serde_json::from_slice::<Update>(payload).map_err(|e| e.to_string());
        Ok(Self { envelope, update })
    }

    /// The envelope: id, kind, chat, sender, text.
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Telegram's id.
    pub fn update_id(&self) -> i64 {
        self.envelope.update_id
    }

    /// The typed update, or why teloxide could not read it.
    pub fn update(&self) -> Result<&Update, &str> {
        self.update.as_ref().map_err(String::as_str)
    }
}

// The rules are configuration; they read the update's kind and command, so they live beside them.
impl LaneRules {
    /// The lane an update waits in: `high` kinds and commands, `low` kinds, else `normal`.
    pub fn classify(&self, update: &Envelope) -> Lane {
        let kind = update.kind();
        if self.high_kinds.iter().any(|k| k == kind) {
            return Lane::High;
        }
        if kind == "message"
            && let Some(command) = update.command()
            && self
                .high_commands
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&command.name))
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
        // Commands are case-insensitive and may name the bot, as Telegram clients send them.
        assert_eq!(
            lane(r#"{"update_id":1,"message":{"text":"/CANCEL"}}"#),
            Lane::High
        );
        assert_eq!(
            lane(r#"{"update_id":1,"message":{"text":"/cancel@ava_bot"}}"#),
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

    #[test]
    fn one_command_parser_reads_names_mentions_and_arguments() {
        let cmd = BotCommand::parse("/Price@AVA_bot  AAPL now ").expect("a command");
        assert_eq!(
            (cmd.name.as_str(), cmd.mention, cmd.args),
            ("price", Some("AVA_bot"), "AAPL now")
        );
        assert!(cmd.is_for("ava_bot"));
        assert!(!cmd.is_for("other_bot"));
        assert!(cmd.is_for(""), "with no known username every command is ours");
        let plain = BotCommand::parse("/start").expect("a command");
        assert_eq!(
            (plain.name.as_str(), plain.mention, plain.args),
            ("start", None, "")
        );
        assert!(plain.is_for("ava_bot"));
        assert_eq!(BotCommand::parse("hello /start"), None);
        assert_eq!(BotCommand::parse("/"), None);
        assert_eq!(BotCommand::parse("/@bot"), None);
        assert_eq!(BotCommand::parse("/help@").map(|c| c.mention), Some(None));
    }

    #[test]
    fn an_inbound_update_is_decoded_once_for_every_reader() {
        let raw = br#"{"update_id":5,"message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"},"from":{"id":7,"is_bot":false,"first_name":"A"},"text":"/Cancel"}}"#;
        let inbound = Inbound::decode(raw).expect("decodes");
        assert_eq!(inbound.update_id(), 5);
        let envelope = inbound.envelope();
        assert_eq!(
            (envelope.kind(), envelope.chat_id(), envelope.user_id()),
            ("message", Some(7), Some(7))
        );
        assert_eq!(envelope.command().map(|c| c.name), Some("cancel".to_owned()));
        assert!(inbound.update().is_ok());
        assert_eq!(envelope.to_value()["message"]["text"], "/Cancel");
        // A message missing what Telegram always sends is still an update: its envelope is read.
        let odd = Inbound::decode(br#"{"update_id":6,"message":{"text":"hi"}}"#).expect("decodes");
        assert_eq!((odd.update_id(), odd.envelope().text()), (6, Some("hi")));
        assert!(Inbound::decode(b"[1]").is_err());
    }
}
