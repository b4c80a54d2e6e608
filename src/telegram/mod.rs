//! Telegram: the Bot API client used by workers, the classification of its errors, and the
//! inbound wire format ([`update`]).
//!
//! The token is part of every request URL, so errors are stripped of their URL before they are
//! kept or logged: the token never leaves this module. [`Outbound`] wraps the client with the
//! limits shared by every worker process (see [`limits`]).

pub mod limits;
mod methods;
mod outbound;
mod split;
pub mod update;

use std::time::{Duration, Instant};

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::{
    config::{Secret, TelegramSettings},
    ops::metrics as m,
};

pub use limits::OutboundLimiter;
pub use methods::{AnswerCallbackQuery, EditMessageText, SendMessage, SetWebhook};
pub use outbound::{Outbound, PauseSink, TelegramPause};
pub use split::{MAX_MESSAGE_LEN, split_text};
pub use update::{BotCommand, Envelope, Inbound};

/// A failed Bot API call, classified once, here.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TelegramError {
    /// 429: wait this long before the next call.
    #[error("rate limited by Telegram: retry after {0:?}")]
    RetryAfter(Duration),
    /// Network error, timeout or 5xx: worth retrying.
    #[error("network or server error: {0}")]
    Transient(String),
    /// Telegram refused the request (400, 403, ...): retrying will not help.
    #[error("Telegram refused the request ({code}): {description}")]
    Refused {
        /// HTTP / Bot API error code.
        code: u16,
        /// Telegram's description, e.g. "Forbidden: bot was blocked by the user".
        description: String,
    },
}

/// What to do about a [`TelegramError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again no earlier than this.
    RetryAfter(Duration),
    /// Try again with backoff.
    Retry,
    /// Do not try again.
    Permanent,
}

/// How a job that failed on a Bot API call ends: the one mapping from Telegram's errors to the
/// job runtime's outcomes, through [`TelegramError::class`].
impl From<TelegramError> for workers::Outcome {
    fn from(e: TelegramError) -> Self {
        match e.class() {
            ErrorClass::RetryAfter(after) => workers::Outcome::RetryAfter(after, "Telegram 429".into()),
            ErrorClass::Retry => workers::Outcome::Retry(e.to_string()),
            ErrorClass::Permanent => workers::Outcome::Permanent(e.to_string()),
        }
    }
}

/// Descriptions that mean the chat cannot receive anything from the bot any more.
const UNREACHABLE_CHAT: &[&str] = &[
    "bot was blocked by the user",
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "bot is not a member",
];

impl TelegramError {
    /// Retry-after, retry or permanent.
    pub fn class(&self) -> ErrorClass {
        match self {
            TelegramError::RetryAfter(d) => ErrorClass::RetryAfter(*d),
            TelegramError::Transient(_) => ErrorClass::Retry,
            TelegramError::Refused { .. } => ErrorClass::Permanent,
        }
    }

    /// The chat blocked the bot, left, or no longer exists: nothing should be sent to it.
    pub fn is_chat_unreachable(&self) -> bool {
        match self {
            TelegramError::Refused {
                code: 400 | 403,
                description,
            } => {
                let d = description.to_ascii_lowercase();
                UNREACHABLE_CHAT.iter().any(|p| d.contains(p))
            }
            _ => false,
        }
    }

    /// 409 Conflict: getUpdates while a webhook is set (or two pollers at once).
    pub fn is_conflict(&self) -> bool {
        matches!(self, TelegramError::Refused { code: 409, .. })
    }

    fn metric_label(&self) -> &'static str {
        match self.class() {
            ErrorClass::RetryAfter(_) => "retry_after",
            ErrorClass::Retry => "retry",
            ErrorClass::Permanent => "permanent",
        }
    }
}

/// A message Telegram accepted.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// Telegram's id of the new message.
    pub message_id: i64,
    /// How long the call took.
    pub latency: Duration,
}

/// Bot API client.
#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    base: String,
    token: Secret,
    request_timeout: Duration,
}

/// The Bot API's answer to every method: `ok`, then `result` or the error.
#[derive(Deserialize)]
struct ApiResponse {
    ok: bool,
    result: Option<Value>,
    description: Option<String>,
    error_code: Option<u16>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

impl BotApi {
    /// A client for `settings.api_url` with the bot token.
    pub fn new(settings: &TelegramSettings) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        // No client-wide timeout: getUpdates long-polls; every request sets its own.
        let http = reqwest::Client::builder().build()?;
        Ok(Self {
            http,
            base: settings.api_url.trim_end_matches('/').to_owned(),
            token: settings.token.clone(),
            request_timeout: Duration::from_secs(settings.request_timeout_secs),
        })
    }

    /// `sendMessage` with plain text (one message; see [`Outbound`] for limits and splitting).
    pub async fn send_message(&self, chat_id: i64, text: &str) -> Result<Sent, TelegramError> {
        self.send(&SendMessage::new(chat_id, text)).await
    }

    /// Calls `method` with a JSON body and decodes `result`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, body: &Value) -> Result<T, TelegramError> {
        self.call_with_timeout(method, body, self.request_timeout).await
    }

    /// [`BotApi::call`] with its own timeout (long polls need more than `telegram.request_timeout_secs`).
    pub async fn call_with_timeout<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<T, TelegramError> {
        let started = Instant::now();
        let result = self.request(method, body, timeout).await;
        metrics::histogram!(m::TELEGRAM_REQUEST_SECONDS, "method" => method.to_owned())
            .record(started.elapsed().as_secs_f64());
        let label = match &result {
            Ok(_) => "ok",
            Err(e) => e.metric_label(),
        };
        metrics::counter!(m::TELEGRAM_REQUESTS, "method" => method.to_owned(), "result" => label)
            .increment(1);
        result
    }

    async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<T, TelegramError> {
        let url = format!("{}/bot{}/{method}", self.base, self.token.expose());
        let response = self
            .http
            .post(url)
            .timeout(timeout)
            .json(body)
            .send()
            .await
            .map_err(|e| TelegramError::Transient(e.without_url().to_string()))?;
        let status = response.status();
        let envelope: ApiResponse = response.json().await.map_err(|e| {
            TelegramError::Transient(format!("HTTP {status}, unreadable body: {}", e.without_url()))
        })?;
        if envelope.ok {
            let result = envelope.result.unwrap_or(Value::Null);
            return serde_json::from_value(result)
                .map_err(|e| TelegramError::Transient(format!("unexpected {method} result: {e}")));
        }
        let code = envelope.error_code.unwrap_or(status.as_u16());
        let description = envelope.description.unwrap_or_else(|| status.to_string());
        Err(classify(
            code,
            description,
            envelope.parameters.and_then(|p| p.retry_after),
        ))
    }

    /// The JSON body of a plain-text message, as logged in `outbound_log`.
    pub fn text_payload(chat_id: i64, text: &str) -> Value {
        json!({ "chat_id": chat_id, "text": text })
    }
}

fn classify(code: u16, description: String, retry_after: Option<u64>) -> TelegramError {
    match code {
        429 => TelegramError::RetryAfter(Duration::from_secs(retry_after.unwrap_or(1))),
        500..=599 => TelegramError::Transient(format!("{code}: {description}")),
        _ => TelegramError::Refused { code, description },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_code() {
        assert!(
            matches!(classify(429, "x".into(), Some(7)), TelegramError::RetryAfter(d) if d == Duration::from_secs(7))
        );
        assert_eq!(
            classify(429, "x".into(), Some(7)).class(),
            ErrorClass::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(classify(502, "x".into(), None).class(), ErrorClass::Retry);
        assert_eq!(
            classify(403, "blocked".into(), None).class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            classify(400, "chat not found".into(), None).class(),
            ErrorClass::Permanent
        );
        assert!(matches!(
            classify(403, "blocked".into(), None),
            TelegramError::Refused { code: 403, .. }
        ));
    }

    #[test]
    fn blocked_and_missing_chats_are_unreachable() {
        assert!(classify(403, "Forbidden: bot was blocked by the user".into(), None).is_chat_unreachable());
        assert!(classify(400, "Bad Request: chat not found".into(), None).is_chat_unreachable());
        assert!(!classify(400, "Bad Request: message text is empty".into(), None).is_chat_unreachable());
        assert!(!classify(500, "chat not found".into(), None).is_chat_unreachable());
        assert!(classify(409, "Conflict: webhook is active".into(), None).is_conflict());
    }

    #[tokio::test]
    async fn a_network_error_does_not_carry_the_token() {
        let settings = TelegramSettings {
            // Nothing listens on port 9 of localhost (discard); the connection is refused.
            api_url: "http://127.0.0.1:9".into(),
            token: Secret::new("123456:VERY-SECRET-TOKEN"),
            request_timeout_secs: 2,
        };
        let bot = BotApi::new(&settings).unwrap();
        let err = bot.get_me().await.unwrap_err();
        assert!(matches!(err, TelegramError::Transient(_)), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("VERY-SECRET-TOKEN"), "{err:?}");
    }
}
