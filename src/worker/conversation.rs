//! Carries out conversations: update → event → `step` (answering its requests and feeding the
//! answers back) → state saved by compare-and-set → Telegram effects sent from the outbox.
//!
//! Ordering matters for "nothing twice": requests (including orders, which carry an idempotency
//! key) run before the save; Telegram effects run after it, from the saved outbox, and each one
//! sent is marked, so a retried job sends only the rest.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use teloxide_core::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, Message, ParseMode, Update, UpdateKind,
};
use workers::Outcome;

use super::{
    Worker,
    access::{AccessGate, actor_of},
    chat_state::ChatStates,
};
use crate::{
    app::Backends,
    config::Settings,
    conversation::{Actor, Button, Effect, Event, Media, guarded_step, text_event},
    integrations::Integrations,
    store::{self, ConversationTransition, OutboundLogRow, UserBlocked},
    telegram::{AnswerCallbackQuery, EditMessageText, Inbound, SendMessage, TelegramError},
};

/// Most request → answer rounds one event may take; more means a loop in the state machine.
const MAX_ROUNDS: usize = 8;

/// What conversations need besides the worker's Bot API client, store and broker.
#[derive(Clone)]
pub(crate) struct ConversationDeps {
    pub(crate) integrations: Integrations,
    pub(crate) chats: ChatStates,
    pub(crate) timeout_secs: u64,
    pub(crate) bot_username: String,
    pub(crate) max_position_share: f64,
    pub(crate) watchlist: Vec<String>,
    pub(crate) access: AccessGate,
}

impl ConversationDeps {
    /// The chat-state store and the integrations (cache on the process' Redis, paper broker on
    /// its pool).
    pub(crate) fn new(backends: &Backends, settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            integrations: Integrations::new(
                &settings.market_data,
                &settings.broker,
                &settings.cache,
                backends.redis.clone(),
                backends.prefix(),
                backends.store.pool().clone(),
            )?,
            access: AccessGate::new(settings, backends.redis.clone()),
            chats: ChatStates::new(
                backends.redis.clone(),
                backends.prefix(),
                settings.conversation.state_ttl_secs,
            ),
            timeout_secs: settings.conversation.timeout_secs,
            bot_username: settings.conversation.bot_username.clone(),
            max_position_share: settings.trading.max_position_share,
            watchlist: settings.scheduler.watchlist.clone(),
        })
    }
}

/// A transition `step` made, kept until the new state is saved: a lost race records nothing.
struct Moved {
    event: &'static str,
    from: &'static str,
    to: &'static str,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The chat and event of an update; `None` for updates a conversation does not see.
pub(crate) fn event_of(update: &Update, bot_username: &str) -> Option<(i64, Event)> {
    match &update.kind {
        UpdateKind::Message(message) => {
            if message.from.as_ref().is_some_and(|u| u.is_bot) {
                return None;
            }
            let chat_id = message.chat.id.0;
            let event = match message.text() {
                Some(text) => text_event(text, bot_username)?,
                None => Event::Unsupported(media_of(message)?),
            };
            // In groups AVA answers commands, and messages that reply to AVA (how a group member
            // answers "Which stock?"); everything else is the group's own conversation.
            let addressed = matches!(event, Event::Command { .. })
                || message.chat.is_private()
                || message
                    .reply_to_message()
                    .and_then(|m| m.from.as_ref())
                    .is_some_and(|u| u.is_bot);
            addressed.then_some((chat_id, event))
        }
        UpdateKind::CallbackQuery(query) => {
            let chat_id = query
                .message
                .as_ref()
                .map(|m| m.chat().id.0)
                .unwrap_or(query.from.id.0 as i64);
            Some((
                chat_id,
                Event::Callback {
                    id: query.id.0.clone(),
                    data: query.data.clone().unwrap_or_default(),
                    message_id: query.message.as_ref().map(|m| i64::from(m.id().0)),
                },
            ))
        }
        _ => None,
    }
}

fn media_of(message: &Message) -> Option<Media> {
    if message.voice().is_some() || message.audio().is_some() {
        Some(Media::Voice)
    } else if message.photo().is_some() {
        Some(Media::Photo)
    } else if message.sticker().is_some() {
        Some(Media::Sticker)
    } else if message.document().is_some() {
        Some(Media::File)
    } else if message.video().is_some() || message.video_note().is_some() || message.animation().is_some() {
        Some(Media::Video)
    } else if matches!(message.kind, teloxide_core::types::MessageKind::Common(_)) {
        Some(Media::Other)
    } else {
        // Service messages (members joining, pins…) are not addressed to AVA.
        None
    }
}

fn keyboard(rows: &[Vec<Button>]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows.iter().map(|row| {
        row.iter()
            .map(|b| InlineKeyboardButton::callback(b.text.clone(), b.data.clone()))
    }))
}

/// The Bot API call that carries out a Telegram effect, built from the typed methods.
fn method_of(chat_id: i64, effect: &Effect) -> Option<(&'static str, Value)> {
    let (method, body) = match effect {
        Effect::Send(reply) => {
            let mut message = SendMessage::new(chat_id, reply.text.clone());
            message.parse_mode = reply.html.then_some(ParseMode::Html);
            message.reply_markup = reply.keyboard.as_deref().map(keyboard);
            ("sendMessage", encode(&message))
        }
        Effect::Edit { message_id, reply } => {
            let mut edit = EditMessageText::new(chat_id, *message_id, reply.text.clone());
            edit.parse_mode = reply.html.then_some(ParseMode::Html);
            edit.reply_markup = reply.keyboard.as_deref().map(keyboard);
            ("editMessageText", encode(&edit))
        }
        Effect::AnswerCallback { callback_id, text } => {
            let answer = AnswerCallbackQuery {
                callback_query_id: callback_id.clone(),
                text: text.clone(),
                show_alert: false,
            };
            ("answerCallbackQuery", encode(&answer))
        }
        Effect::Request(_) => return None,
    };
    Some((method, body))
}

/// Encodes a typed method: plain structs of strings and numbers, which always serialize.
fn encode<T: serde::Serialize>(method: &T) -> Value {
    serde_json::to_value(method).expect("Bot API methods serialize")
}

impl Worker {
    /// A Telegram update: runs the conversation of its chat.
    pub(super) async fn converse_update(&self, inbound: &Inbound) -> Outcome {
        let update = match inbound.update() {
            Ok(update) => update,
            Err(e) => return Outcome::Permanent(format!("unreadable update: {e}")),
        };
        let Some((chat_id, event)) = event_of(update, &self.conv.bot_username) else {
            tracing::debug!("update not addressed to a conversation; acknowledged");
            return Outcome::Done;
        };
        let update_id = inbound.update_id();
        let actor = actor_of(update);
        match self
            .try_converse(
                chat_id,
                &format!("u{update_id}"),
                event,
                Some(update_id),
                actor.as_ref(),
            )
            .await
        {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Retry(format!("{e:#}")),
        }
    }

    /// Applies `event` (identified by `event_id`, stable across retries) to the chat's conversation.
    pub(super) async fn converse(
        &self,
        chat_id: i64,
        event_id: &str,
        event: Event,
        update_id: Option<i64>,
    ) -> Outcome {
        // No person behind it (a timeout, a scheduled event): nothing to check access for.
        match self.try_converse(chat_id, event_id, event, update_id, None).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Retry(format!("{e:#}")),
        }
    }

    async fn try_converse(
        &self,
        chat_id: i64,
        event_id: &str,
        event: Event,
        update_id: Option<i64>,
        actor: Option<&Actor>,
    ) -> anyhow::Result<Outcome> {
        let record = self.conv.chats.load(chat_id).await?;
        // Accounts belong to people: the person's own, or the chat's for work without one.
        let account_id = actor.map_or(chat_id, |a| a.user_id);
        let (outbox, already_sent) = if record.applied.as_deref() == Some(event_id) {
            // A retry of an event already applied: only the unsent effects remain.
            (record.outbox, record.sent)
        } else {
            let mut state = record.state.clone();
            let mut event = event;
            let mut outbox = Vec::new();
            let mut rounds = 0;
            let mut moves = Vec::new();
            loop {
                let event_name = event.name();
                let from = state.name();
                let guarded = guarded_step(&self.conv.access.policy, actor, state, event);
                if let (Some(denial), Some(actor)) = (&guarded.denial, actor) {
                    self.refuse(chat_id, event_id, update_id, actor, denial).await;
                    if rounds == 0 && guarded.effects.is_empty() {
                        // Refused outright: the conversation (state, deadline) stays as it was.
                        return Ok(Outcome::Done);
                    }
                }
                let (next, effects) = (guarded.state, guarded.effects);
                if from != next.name() {
                    moves.push(Moved {
                        event: event_name,
                        from,
                        to: next.name(),
                    });
                }
                state = next;
                let mut request = None;
                for effect in effects {
                    match effect {
                        Effect::Request(r) => request = Some(r),
                        // Answered at once, before slower requests, so the button stops spinning.
                        // Not in the outbox: answering twice after a retry is harmless (Telegram
                        // refuses the second answer, which is ignored below).
                        answer @ Effect::AnswerCallback { .. } => {
                            if let Err(e) = self.carry_out(chat_id, update_id, &answer).await {
                                tracing::warn!(chat_id, error = %e, "cannot answer callback query");
                            }
                        }
                        other => outbox.push(other),
                    }
                }
                let Some(request) = request else { break };
                rounds += 1;
                if rounds > MAX_ROUNDS {
                    return Ok(Outcome::Permanent(format!(
                        "conversation asked more than {MAX_ROUNDS} requests for one event"
                    )));
                }
                event = self.answer(chat_id, account_id, event_id, request).await?;
            }
            let deadline_ms = if state.is_waiting() {
                now_ms() + self.conv.timeout_secs * 1000
            } else {
                0
            };
            // Timer first: a timer without its state is ignored when it fires; a state without
            // its timer would wait forever.
            if deadline_ms > 0 {
                self.conv.chats.arm_timer(chat_id, deadline_ms).await?;
            }
            let saved = self
                .conv
                .chats
                .save(chat_id, record.version, &state, event_id, &outbox, deadline_ms)
                .await?;
            if !saved {
                return Ok(Outcome::Retry(
                    "conversation state changed concurrently; retrying with the new state".into(),
                ));
            }
            if deadline_ms == 0 && record.deadline_ms != 0 {
                self.conv.chats.disarm_timer(chat_id).await?;
            }
            self.record_transitions(chat_id, event_id, update_id, moves).await;
            (outbox, 0)
        };
        for (index, effect) in outbox.iter().enumerate().skip(already_sent) {
            match self.carry_out(chat_id, update_id, effect).await {
                Ok(()) => {}
                // A stale callback or an unchanged edit must not block the replies after it.
                Err(e @ TelegramError::Refused { .. }) if !matches!(effect, Effect::Send(_)) => {
                    tracing::warn!(chat_id, error = %e, "Telegram refused an edit or callback answer")
                }
                Err(e) => return Ok(e.into()),
            }
            if let Err(e) = self.conv.chats.mark_sent(chat_id, index + 1).await {
                tracing::warn!(chat_id, error = %e, "cannot mark reply as sent; a retry may repeat it");
            }
        }
        Ok(Outcome::Done)
    }

    /// Records the transitions of an applied event in `conversation_transitions`. The key is
    /// derived from the event, so recording again after a crash writes nothing twice.
    async fn record_transitions(
        &self,
        chat_id: i64,
        event_id: &str,
        update_id: Option<i64>,
        moves: Vec<Moved>,
    ) {
        let at = chrono::Utc::now();
        for (i, m) in moves.into_iter().enumerate() {
            tracing::debug!(
                chat_id,
                event_id,
                event = m.event,
                from = m.from,
                to = m.to,
                "conversation transition"
            );
            self.log
                .record(ConversationTransition {
                    log_key: format!("{chat_id}:{event_id}:{i}"),
                    chat_id,
                    update_id,
                    from_state: m.from.to_owned(),
                    to_state: m.to.to_owned(),
                    event: m.event.to_owned(),
                    at,
                })
                .await;
        }
    }

    /// Sends one Telegram effect and records it in outbound_log.
    pub(super) async fn carry_out(
        &self,
        chat_id: i64,
        update_id: Option<i64>,
        effect: &Effect,
    ) -> Result<(), TelegramError> {
        let Some((method, body)) = method_of(chat_id, effect) else {
            return Ok(());
        };
        self.call_logged(chat_id, update_id, method, &body).await
    }

    /// A Bot API call, recorded in outbound_log whatever its result.
    pub(super) async fn call_logged(
        &self,
        chat_id: i64,
        update_id: Option<i64>,
        method: &str,
        body: &Value,
    ) -> Result<(), TelegramError> {
        let sent_at = chrono::Utc::now();
        let started = std::time::Instant::now();
        // Through the limits every worker shares; a callback answer belongs to no chat's quota.
        let chat = (method != "answerCallbackQuery").then_some(chat_id);
        let result = self.outbound.call::<Value>(chat, method, body).await;
        self.log
            .record(OutboundLogRow {
                log_key: store::new_log_key(),
                update_id,
                chat_id,
                method: method.to_owned(),
                payload: body.clone(),
                message_id: result
                    .as_ref()
                    .ok()
                    .and_then(|v| v.get("message_id"))
                    .and_then(Value::as_i64),
                status: if result.is_ok() { "sent" } else { "failed" }.to_owned(),
                error: result.as_ref().err().map(ToString::to_string),
                sent_at,
                latency_ms: Some(started.elapsed().as_millis() as i32),
            })
            .await;
        // In a private chat the chat id is the user's id: a 403 there means the user blocked the bot.
        if let Err(TelegramError::Refused { code: 403, .. }) = &result
            && chat_id > 0
        {
            self.log
                .record(UserBlocked {
                    user_id: chat_id,
                    at: chrono::Utc::now(),
                })
                .await;
        }
        result.map(|_| ())
    }
}
