//! The emulator's world: users, chats and their messages, updates waiting for delivery, the
//! webhook, and the record of every Bot API call. Plain data under one lock; no I/O here.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;
use serde_json::{Value, json};

use super::faults::Faults;

/// The emulated bot's user id.
pub const BOT_ID: i64 = 7_000_000_001;
/// The emulated bot's username.
pub const BOT_USERNAME: &str = "ava_dev_bot";
/// The emulated bot's display name.
pub const BOT_NAME: &str = "AVA";

/// A person who talks to the bot.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    /// Telegram user id (also the id of their private chat with the bot).
    pub id: i64,
    /// Display name.
    pub first_name: String,
    /// @username, without the `@`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl User {
    pub(crate) fn json(&self) -> Value {
        let mut user = json!({ "id": self.id, "is_bot": false, "first_name": self.first_name });
        if let Some(name) = &self.username {
            user["username"] = json!(name);
        }
        user
    }
}

/// `private` or `group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    /// One user and the bot; the chat id is the user's id.
    Private,
    /// Several users and the bot; the chat id is negative.
    Group,
}

/// A conversation with the bot.
#[derive(Debug, Clone, Serialize)]
pub struct Chat {
    /// Chat id: the user's id for a private chat, negative for a group.
    pub id: i64,
    /// Private or group.
    #[serde(rename = "type")]
    pub kind: ChatKind,
    /// Group title, or the user's name for a private chat.
    pub title: String,
    /// Users in the chat.
    pub members: Vec<i64>,
    /// The user blocked the bot: sending to this chat answers 403.
    pub blocked: bool,
    #[serde(skip)]
    pub(crate) messages: BTreeMap<i64, Message>,
    #[serde(skip)]
    next_message_id: i64,
}

impl Chat {
    pub(crate) fn json(&self) -> Value {
        match self.kind {
            ChatKind::Private => json!({ "id": self.id, "type": "private", "first_name": self.title }),
            ChatKind::Group => json!({ "id": self.id, "type": "group", "title": self.title }),
        }
    }

    /// The next message id of this chat: Telegram numbers messages per chat, increasing.
    pub(crate) fn next_message_id(&mut self) -> i64 {
        self.next_message_id += 1;
        self.next_message_id
    }

    /// Messages in order, deleted ones left out.
    pub fn transcript(&self) -> Vec<Message> {
        self.messages.values().filter(|m| !m.deleted).cloned().collect()
    }
}

/// One message of a chat, as it stands now (edits applied).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Message {
    /// Id within the chat.
    pub message_id: i64,
    /// Sender's user id ([`BOT_ID`] for the bot).
    pub from_id: i64,
    /// Sender's display name.
    pub from_name: String,
    /// Sent by the bot.
    pub is_bot: bool,
    /// Unix time it was sent.
    pub date: i64,
    /// Current text.
    pub text: String,
    /// `HTML`, `MarkdownV2`, `Markdown`, or none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Current inline keyboard (`{"inline_keyboard": [[…]]}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<Value>,
    /// The message this one replies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<i64>,
    /// How many times it was edited.
    pub edits: u32,
    /// Deleted by the bot (kept for the record, left out of transcripts).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Message {
    /// The Bot API `Message` object for it.
    pub(crate) fn api_json(&self, chat: &Chat) -> Value {
        let from = if self.is_bot {
            bot_user_json()
        } else {
            json!({ "id": self.from_id, "is_bot": false, "first_name": self.from_name })
        };
        let mut m = json!({
            "message_id": self.message_id,
            "from": from,
            "chat": chat.json(),
            "date": self.date,
            "text": self.text,
        });
        if let Some(markup) = &self.reply_markup {
            m["reply_markup"] = markup.clone();
        }
        if self.edits > 0 {
            m["edit_date"] = json!(self.date);
        }
        if !self.is_bot && self.text.starts_with('/') {
            let len = self
                .text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .encode_utf16()
                .count();
            m["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": len }]);
        }
        m
    }

    /// Callback data of the button labelled `label` (or whose data is `label`).
    pub fn button_data(&self, label: &str) -> Option<String> {
        self.reply_markup
            .as_ref()?
            .get("inline_keyboard")?
            .as_array()?
            .iter()
            .filter_map(Value::as_array)
            .flatten()
            .find(|b| b["text"] == label || b["callback_data"] == label)
            .and_then(|b| b["callback_data"].as_str().map(str::to_owned))
    }
}

/// The bot as a Bot API `User`.
pub(crate) fn bot_user_json() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": BOT_NAME, "username": BOT_USERNAME })
}

/// One Bot API call the emulator answered.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    /// Order of arrival, from 1.
    pub seq: u64,
    /// Method name as called, e.g. `sendMessage`.
    pub method: String,
    /// Parameters.
    pub body: Value,
    /// Whether the answer was `ok: true`.
    pub ok: bool,
    /// HTTP status / `error_code` of the answer.
    pub status: u16,
    /// Message id the call created or changed, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// Chat it concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<i64>,
}

/// Where updates go: a webhook, or the getUpdates queue when none is set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Webhook {
    /// URL updates are POSTed to; empty: none (getUpdates works).
    pub url: String,
    /// Sent back in `X-Telegram-Bot-Api-Secret-Token`.
    #[serde(skip)]
    pub secret_token: Option<String>,
    /// `max_connections` as set.
    pub max_connections: Option<u64>,
    /// `allowed_updates` as set.
    pub allowed_updates: Option<Value>,
    /// Unix time of the last failed delivery.
    pub last_error_date: Option<i64>,
    /// Why it failed.
    pub last_error_message: Option<String>,
}

/// A callback query the bot has not answered yet, or its answer.
#[derive(Debug, Clone, Serialize)]
pub struct CallbackQuery {
    /// Query id.
    pub id: String,
    /// Chat of the message the button is on.
    pub chat_id: i64,
    /// Message the button is on.
    pub message_id: i64,
    /// Who pressed.
    pub from_id: i64,
    /// Callback data.
    pub data: String,
    /// The bot's answer: toast text (empty string for a silent answer).
    pub answer: Option<String>,
    /// The answer asked for an alert box rather than a toast.
    pub show_alert: bool,
}

/// Everything the emulator knows.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) users: BTreeMap<i64, User>,
    pub(crate) chats: BTreeMap<i64, Chat>,
    pub(crate) calls: Vec<Call>,
    pub(crate) pending: VecDeque<Value>,
    pub(crate) next_update_id: i64,
    pub(crate) webhook: Webhook,
    pub(crate) callbacks: HashMap<String, CallbackQuery>,
    pub(crate) faults: Faults,
    next_user_id: i64,
    next_group_id: i64,
    calls_seen: u64,
}

/// Most calls kept in the record; a load run drops the oldest tenth at a time.
const MAX_CALLS: usize = 200_000;

/// A client's request the emulator cannot carry out, with the HTTP status to answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// HTTP status.
    pub status: u16,
    /// What is wrong.
    pub message: String,
}

pub(crate) fn refused(status: u16, message: impl Into<String>) -> Refused {
    Refused {
        status,
        message: message.into(),
    }
}

impl World {
    pub(crate) fn new() -> Self {
        Self {
            next_update_id: 100_000,
            next_user_id: 424_242_000,
            next_group_id: -1_001_000_000_000,
            ..Self::default()
        }
    }

    /// A new user (and their private chat with the bot).
    pub(crate) fn add_user(
        &mut self,
        first_name: &str,
        username: Option<String>,
        id: Option<i64>,
    ) -> Result<User, Refused> {
        let name = first_name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(refused(400, "first_name must be 1-64 characters"));
        }
        let id = match id {
            Some(id) if id <= 0 => return Err(refused(400, "a user id must be positive")),
            Some(id) if self.users.contains_key(&id) => {
                return Err(refused(409, format!("user {id} exists")));
            }
            Some(id) => id,
            None => {
                self.next_user_id += 1;
                while self.users.contains_key(&self.next_user_id) {
                    self.next_user_id += 1;
                }
                self.next_user_id
            }
        };
        let user = User {
            id,
            first_name: name.to_owned(),
            username,
        };
        self.users.insert(id, user.clone());
        self.private_chat(id);
        Ok(user)
    }

    /// The private chat of `user_id`, made on first use; a user unknown so far is made up, as a
    /// person who wrote to the bot from elsewhere (e.g. a hand-written update posted to the webhook).
    pub(crate) fn private_chat(&mut self, user_id: i64) -> &mut Chat {
        let name = self
            .users
            .entry(user_id)
            .or_insert_with(|| User {
                id: user_id,
                first_name: format!("User {user_id}"),
                username: None,
            })
            .first_name
            .clone();
        self.chats.entry(user_id).or_insert_with(|| Chat {
            id: user_id,
            kind: ChatKind::Private,
            title: name,
            members: vec![user_id],
            blocked: false,
            messages: BTreeMap::new(),
            next_message_id: 0,
        })
    }

    /// A new group with `members`.
    pub(crate) fn add_group(&mut self, title: &str, members: &[i64]) -> Result<Chat, Refused> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 128 {
            return Err(refused(400, "title must be 1-128 characters"));
        }
        if let Some(missing) = members.iter().find(|m| !self.users.contains_key(m)) {
            return Err(refused(404, format!("no user {missing}")));
        }
        self.next_group_id -= 1;
        let chat = Chat {
            id: self.next_group_id,
            kind: ChatKind::Group,
            title: title.to_owned(),
            members: members.to_vec(),
            blocked: false,
            messages: BTreeMap::new(),
            next_message_id: 0,
        };
        self.chats.insert(chat.id, chat.clone());
        Ok(chat)
    }

    /// Adds `user_id` to group `chat_id`.
    pub(crate) fn join(&mut self, chat_id: i64, user_id: i64) -> Result<Chat, Refused> {
        if !self.users.contains_key(&user_id) {
            return Err(refused(404, format!("no user {user_id}")));
        }
        let chat = self
            .chats
            .get_mut(&chat_id)
            .ok_or_else(|| refused(404, format!("no chat {chat_id}")))?;
        if chat.kind != ChatKind::Group {
            return Err(refused(400, "only groups have more members"));
        }
        if !chat.members.contains(&user_id) {
            chat.members.push(user_id);
        }
        Ok(chat.clone())
    }

    /// Queues an update for delivery, numbering it.
    pub(crate) fn queue_update(&mut self, mut update: Value) -> i64 {
        self.next_update_id += 1;
        update["update_id"] = json!(self.next_update_id);
        self.pending.push_back(update);
        self.next_update_id
    }

    /// Records a call and returns its sequence number.
    pub(crate) fn record(&mut self, mut call: Call) -> u64 {
        self.calls_seen += 1;
        call.seq = self.calls_seen;
        if self.calls.len() >= MAX_CALLS {
            self.calls.drain(..MAX_CALLS / 10);
        }
        self.calls.push(call);
        self.calls_seen
    }
}
