//! [`Outbound`]: the Bot API client behind the shared limits, the 429 pauses and the
//! blocked-chat marks. Workers send through this, never through [`BotApi`] directly.

use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{BotApi, MAX_MESSAGE_LEN, SendMessage, Sent, TelegramError, limits::Slot, split_text};
use crate::{config::OutboundLimitSettings, ops::metrics as m, telegram::OutboundLimiter};

/// A 429 Telegram answered: who was paused, for how long, on which call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramPause {
    /// The chat paused; `None`: every chat (a 429 on a call with no chat).
    pub chat_id: Option<i64>,
    /// The Bot API method that got the 429.
    pub method: String,
    /// Telegram's `retry_after`.
    pub retry_after: Duration,
}

/// Where 429 pauses go beyond the log, e.g. the Postgres `rate_limit_violations` writer.
/// Called on the send path: implementations hand off rather than block.
pub trait PauseSink: Send + Sync + 'static {
    /// Records one pause.
    fn record(&self, pause: TelegramPause);
}

/// A limited sender. Cheap to clone.
#[derive(Clone)]
pub struct Outbound {
    bot: BotApi,
    limiter: OutboundLimiter,
    max_wait: Duration,
    max_retry_after: u32,
    pauses: Option<std::sync::Arc<dyn PauseSink>>,
}

impl Outbound {
    /// Wraps `bot` with `limiter`.
    pub fn new(bot: BotApi, limiter: OutboundLimiter, settings: &OutboundLimitSettings) -> Self {
        Self {
            bot,
            limiter,
            max_wait: Duration::from_secs(settings.max_wait_secs),
            max_retry_after: settings.max_retry_after,
            pauses: None,
        }
    }

    /// Also reports every 429 pause to `sink`.
    pub fn with_pause_sink(mut self, sink: std::sync::Arc<dyn PauseSink>) -> Self {
        self.pauses = Some(sink);
        self
    }

    /// The unlimited client, for calls that are not messages (getMe, webhook management).
    pub fn bot(&self) -> &BotApi {
        &self.bot
    }

    /// The shared limiter.
    pub fn limiter(&self) -> &OutboundLimiter {
        &self.limiter
    }

    /// Sends plain text, split at line boundaries when it is over 4,096 characters.
    pub async fn send_text(&self, chat_id: i64, text: &str) -> Result<Vec<Sent>, TelegramError> {
        self.send(&SendMessage::new(chat_id, text)).await
    }

    /// Sends `message`, split at line boundaries when its text is too long; the keyboard goes
    /// with the last piece, where the user reads it.
    pub async fn send(&self, message: &SendMessage) -> Result<Vec<Sent>, TelegramError> {
        let body = serde_json::to_value(message).map_err(|e| TelegramError::Refused {
            code: 400,
            description: format!("message cannot be encoded: {e}"),
        })?;
        let mut sent = Vec::new();
        for piece in pieces("sendMessage", &body) {
            let started = Instant::now();
            let msg: Value = self
                .call_one(Some(message.chat_id), "sendMessage", &piece)
                .await?;
            sent.push(Sent {
                message_id: msg.get("message_id").and_then(Value::as_i64).unwrap_or_default(),
                latency: started.elapsed(),
            });
        }
        Ok(sent)
    }

    /// Calls `method` for `chat_id` (None: no chat, e.g. answerCallbackQuery) under the limits:
    /// skips chats marked unreachable, waits for a slot, waits out 429s (pausing the chat for
    /// every process), and marks chats that turn out blocked. A wait longer than
    /// `outbound_limit.max_wait_secs` comes back as [`TelegramError::RetryAfter`] so the job is
    /// retried later instead of holding a worker.
    pub async fn call<T: DeserializeOwned>(
        &self,
        chat_id: Option<i64>,
        method: &str,
        body: &Value,
    ) -> Result<T, TelegramError> {
        let mut pieces = pieces(method, body);
        let last = pieces.pop().unwrap_or_else(|| body.clone());
        for piece in pieces {
            self.call_one::<Value>(chat_id, method, &piece).await?;
        }
        self.call_one(chat_id, method, &last).await
    }

    /// One call under the limits (see [`Outbound::call`]).
    async fn call_one<T: DeserializeOwned>(
        &self,
        chat_id: Option<i64>,
        method: &str,
        body: &Value,
    ) -> Result<T, TelegramError> {
        let unavailable = |e: redis::RedisError| TelegramError::Transient(format!("outbound limiter: {e}"));
        if let Some(chat) = chat_id
            && self.limiter.is_blocked(chat).await.map_err(unavailable)?
        {
            metrics::counter!(m::BLOCKED_CHAT_SKIPS).increment(1);
            return Err(TelegramError::Refused {
                code: 403,
                description: "chat is marked unreachable (bot blocked, kicked or chat deleted); not sent"
                    .into(),
            });
        }
        let started = Instant::now();
        let mut retry_afters = 0;
        loop {
            let budget = self.max_wait.saturating_sub(started.elapsed());
            match self.limiter.reserve(chat_id, budget).await.map_err(unavailable)? {
                Slot::NotYet(wait) if wait > budget => return Err(TelegramError::RetryAfter(wait)),
                Slot::NotYet(wait) => {
                    // Paused or at the chat's limit: wait, then ask again (nothing is held meanwhile).
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                    continue;
                }
                Slot::Reserved(wait) => {
                    metrics::histogram!(m::OUTBOUND_WAIT_SECONDS)
                        .record((started.elapsed() + wait).as_secs_f64());
                    tokio::time::sleep(wait).await;
                }
            }
            match self.bot.call(method, body).await {
                Err(TelegramError::RetryAfter(after)) => {
                    retry_afters += 1;
                    let scope = if chat_id.is_some() { "chat" } else { "global" };
                    metrics::counter!(m::TELEGRAM_PAUSES, "scope" => scope).increment(1);
                    tracing::warn!(
                        chat_id,
                        method,
                        retry_after_secs = after.as_secs(),
                        "Telegram 429; pausing"
                    );
                    if let Some(sink) = &self.pauses {
                        sink.record(TelegramPause {
                            chat_id,
                            method: method.to_owned(),
                            retry_after: after,
                        });
                    }
                    if let Err(e) = self.limiter.pause(chat_id, after).await {
                        // Without the shared pause, at least this sender waits it out.
                        tracing::warn!(error = %e, "cannot record the 429 pause in Redis");
                        if after <= self.max_wait.saturating_sub(started.elapsed()) {
                            tokio::time::sleep(after).await;
                        }
                    }
                    if retry_afters > self.max_retry_after || started.elapsed() + after > self.max_wait {
                        return Err(TelegramError::RetryAfter(after));
                    }
                }
                Err(e) if e.is_chat_unreachable() => {
                    if let Some(chat) = chat_id {
                        tracing::info!(chat_id = chat, error = %e, "chat unreachable; marking it");
                        if let Err(e) = self.limiter.mark_blocked(chat).await {
                            tracing::warn!(error = %e, "cannot mark chat unreachable in Redis");
                        }
                    }
                    return Err(e);
                }
                other => return other,
            }
        }
    }
}

/// The bodies one call goes out as. The one place long messages are split: a `sendMessage` over
/// Telegram's 4,096 characters becomes several, cut at line ends, whoever built the body; the
/// keyboard goes with the last piece, where the user reads it. Anything else is one body.
fn pieces(method: &str, body: &Value) -> Vec<Value> {
    let text = match body.get("text").and_then(Value::as_str) {
        Some(text) if method == "sendMessage" => text,
        _ => return vec![body.clone()],
    };
    let texts = split_text(text, MAX_MESSAGE_LEN);
    let last = texts.len().saturating_sub(1);
    texts
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut part = body.clone();
            part["text"] = Value::String(piece);
            if i != last
                && let Some(fields) = part.as_object_mut()
            {
                fields.remove("reply_markup");
            }
            part
        })
        .collect()
}
