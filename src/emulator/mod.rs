//! A Bot API emulator: it answers AVA's Bot API calls the way Telegram does, keeps each chat's
//! messages, delivers users' messages as webhook POSTs or through getUpdates, records every
//! call, and fails on demand. `ava dev` mounts it with the chat page; tests start their own with
//! [`Emulator::start`].
//!
//! - [`state`]: users, chats, messages, pending updates, the record (plain data, one lock);
//! - [`bot_api`]: `POST /emulator/bot<token>/<method>`, Telegram-shaped answers;
//! - [`control`]: the HTTP API a person, a test or a load tool drives (send as a user, press a
//!   button, read a transcript, set faults, follow events);
//! - [`delivery`]: webhook POSTs with the secret header, in update_id order, retried;
//! - [`faults`]: 429 / 5xx / slow / blocked, per chat or for all;
//! - [`page`]: the chat page at `/chat`.

mod bot_api;
mod control;
mod delivery;
pub mod faults;
mod page;
pub mod state;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, OnceLock},
};

use axum::Router;
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

pub use faults::{Fault, FaultKind};
pub use state::{BOT_ID, BOT_USERNAME, Call, CallbackQuery, Chat, ChatKind, Message, Refused, User};
use state::{World, refused};

/// Where the Bot API and the client API are mounted (`telegram.api_url` is `http://ADDR/emulator`).
pub const MOUNT: &str = "/emulator";

/// Cloneable handle on one emulated Telegram.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    world: Mutex<World>,
    /// Everything a page or test may follow live: messages, edits, deletions, toasts, actions.
    events: broadcast::Sender<Value>,
    /// Bumped whenever an update is queued or the webhook changes; wakes getUpdates and delivery.
    updates: watch::Sender<u64>,
    /// The bot token callers must use; any token when `None`.
    token: Option<String>,
    addr: OnceLock<SocketAddr>,
    stop: CancellationToken,
}

impl Emulator {
    /// An emulator that accepts calls with `token` only (`None`: any token). Needs a Tokio
    /// runtime: webhook delivery runs as a task, which ends with [`Emulator::stop`].
    pub fn new(token: Option<String>) -> Self {
        let emulator = Self {
            inner: Arc::new(Inner {
                world: Mutex::new(World::new()),
                events: broadcast::channel(1024).0,
                updates: watch::channel(0).0,
                token,
                addr: OnceLock::new(),
                stop: CancellationToken::new(),
            }),
        };
        tokio::spawn(delivery::run(emulator.clone()));
        emulator
    }

    /// An emulator serving on 127.0.0.1 on an ephemeral port, with its chat page.
    pub async fn start(token: Option<String>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let emulator = Self::new(token);
        let _ = emulator.inner.addr.set(listener.local_addr()?);
        let app = emulator.router();
        let stop = emulator.inner.stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        Ok(emulator)
    }

    /// Stops delivery (and the server of [`Emulator::start`]).
    pub fn stop(&self) {
        self.inner.stop.cancel();
    }

    /// Tells the emulator where it is served, for [`Emulator::api_url`] (`dev` binds its own).
    pub fn set_addr(&self, addr: SocketAddr) {
        let _ = self.inner.addr.set(addr);
    }

    /// The address it serves on, once known.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.inner.addr.get().copied()
    }

    /// The `telegram.api_url` that points AVA at this emulator.
    pub fn api_url(&self) -> String {
        let addr = self
            .addr()
            .expect("the emulator's address is set (start or set_addr)");
        format!("http://{addr}{MOUNT}")
    }

    /// The Bot API, the client API and the chat page.
    pub fn router(&self) -> Router {
        bot_api::routes()
            .merge(control::routes())
            .merge(page::routes())
            .with_state(self.clone())
    }

    fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, events: Vec<Value>) {
        for event in events {
            // No subscriber is fine: nobody is watching.
            let _ = self.inner.events.send(event);
        }
    }

    fn updates_changed(&self) {
        self.inner.updates.send_modify(|n| *n += 1);
    }

    /// Follows every event (`{"type": "message" | "edit" | "delete" | "toast" | "action" | "chat", …}`).
    pub fn subscribe(&self) -> broadcast::Receiver<Value> {
        self.inner.events.subscribe()
    }

    /// Adds a user (and their private chat); `id` is chosen when `None`.
    pub fn add_user(
        &self,
        first_name: &str,
        username: Option<String>,
        id: Option<i64>,
    ) -> Result<User, Refused> {
        let user = self.world().add_user(first_name, username, id)?;
        self.emit(vec![json!({ "type": "chat", "chat_id": user.id })]);
        Ok(user)
    }

    /// Adds a group with `members`.
    pub fn add_group(&self, title: &str, members: &[i64]) -> Result<Chat, Refused> {
        let chat = self.world().add_group(title, members)?;
        self.emit(vec![json!({ "type": "chat", "chat_id": chat.id })]);
        Ok(chat)
    }

    /// Adds `user_id` to a group.
    pub fn join(&self, chat_id: i64, user_id: i64) -> Result<Chat, Refused> {
        let chat = self.world().join(chat_id, user_id)?;
        self.emit(vec![json!({ "type": "chat", "chat_id": chat_id })]);
        Ok(chat)
    }

    /// Users.
    pub fn users(&self) -> Vec<User> {
        self.world().users.values().cloned().collect()
    }

    /// Chats.
    pub fn chats(&self) -> Vec<Chat> {
        self.world().chats.values().cloned().collect()
    }

    /// A chat's messages as they stand (edits applied, deleted ones left out).
    pub fn transcript(&self, chat_id: i64) -> Option<Vec<Message>> {
        self.world().chats.get(&chat_id).map(Chat::transcript)
    }

    /// Every Bot API call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.world().calls.clone()
    }

    /// A callback query and the bot's answer, if any.
    pub fn callback(&self, id: &str) -> Option<CallbackQuery> {
        self.world().callbacks.get(id).cloned()
    }

    /// `from` writes `text` in `chat_id` (a command when it starts with `/`), optionally replying
    /// to a message. Returns (update_id, message_id).
    pub fn send_text(
        &self,
        chat_id: i64,
        from: i64,
        text: &str,
        reply_to: Option<i64>,
    ) -> Result<(i64, i64), Refused> {
        if text.trim().is_empty() || text.encode_utf16().count() > 4096 {
            return Err(refused(400, "text must be 1-4096 characters"));
        }
        let mut world = self.world();
        let user = world
            .users
            .get(&from)
            .cloned()
            .ok_or_else(|| refused(404, format!("no user {from}")))?;
        let chat = world
            .chats
            .get_mut(&chat_id)
            .ok_or_else(|| refused(404, format!("no chat {chat_id}")))?;
        if !chat.members.contains(&from) {
            return Err(refused(403, format!("user {from} is not in chat {chat_id}")));
        }
        let replied = match reply_to {
            Some(id) => Some(
                chat.messages
                    .get(&id)
                    .filter(|m| !m.deleted)
                    .map(|m| m.api_json(chat))
                    .ok_or_else(|| refused(404, format!("no message {id} in chat {chat_id}")))?,
            ),
            None => None,
        };
        let message_id = chat.next_message_id();
        let message = Message {
            message_id,
            from_id: user.id,
            from_name: user.first_name.clone(),
            is_bot: false,
            date: chrono::Utc::now().timestamp(),
            text: text.to_owned(),
            parse_mode: None,
            reply_markup: None,
            reply_to_message_id: reply_to,
            edits: 0,
            deleted: false,
        };
        let mut api = message.api_json(chat);
        api["from"] = user.json();
        if let Some(replied) = replied {
            api["reply_to_message"] = replied;
        }
        chat.messages.insert(message_id, message.clone());
        let update_id = world.queue_update(json!({ "message": api }));
        drop(world);
        self.emit(vec![
            json!({ "type": "message", "chat_id": chat_id, "message": message }),
        ]);
        self.updates_changed();
        Ok((update_id, message_id))
    }

    /// `from` presses the button with callback data (or label) `button` under message
    /// `message_id`. Returns (update_id, callback_query_id).
    pub fn press(
        &self,
        chat_id: i64,
        from: i64,
        message_id: i64,
        button: &str,
    ) -> Result<(i64, String), Refused> {
        let mut world = self.world();
        let user = world
            .users
            .get(&from)
            .cloned()
            .ok_or_else(|| refused(404, format!("no user {from}")))?;
        let chat = world
            .chats
            .get(&chat_id)
            .ok_or_else(|| refused(404, format!("no chat {chat_id}")))?;
        if !chat.members.contains(&from) {
            return Err(refused(403, format!("user {from} is not in chat {chat_id}")));
        }
        let message = chat
            .messages
            .get(&message_id)
            .filter(|m| !m.deleted)
            .ok_or_else(|| refused(404, format!("no message {message_id} in chat {chat_id}")))?;
        let data = message
            .button_data(button)
            .ok_or_else(|| refused(400, format!("message {message_id} has no button {button:?}")))?;
        let api_message = message.api_json(chat);
        // Unique because update ids are: this press's update gets the next one.
        let query_id = format!("8{}", world.next_update_id + 1);
        let update_id = world.queue_update(json!({
            "callback_query": {
                "id": query_id,
                "from": user.json(),
                "message": api_message,
                "chat_instance": format!("ci{}", chat_id),
                "data": data,
            }
        }));
        world.callbacks.insert(
            query_id.clone(),
            CallbackQuery {
                id: query_id.clone(),
                chat_id,
                message_id,
                from_id: from,
                data,
                answer: None,
                show_alert: false,
            },
        );
        drop(world);
        self.updates_changed();
        Ok((update_id, query_id))
    }

    /// Adds a fault.
    pub fn add_fault(&self, fault: Fault) -> Result<(), Refused> {
        fault.validate().map_err(|e| refused(400, e))?;
        self.world().faults.list.push(fault);
        Ok(())
    }

    /// The faults in force.
    pub fn faults(&self) -> Vec<Fault> {
        self.world().faults.list.clone()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.world().faults.list.clear();
    }

    /// Sets the webhook as `setWebhook` would (an empty URL removes it).
    pub fn set_webhook(&self, url: &str, secret_token: Option<&str>) {
        let mut world = self.world();
        world.webhook = state::Webhook {
            url: url.to_owned(),
            secret_token: secret_token.map(str::to_owned),
            ..state::Webhook::default()
        };
        drop(world);
        self.updates_changed();
    }

    /// Updates not yet delivered (or not yet confirmed through getUpdates).
    pub fn pending_updates(&self) -> usize {
        self.world().pending.len()
    }
}
