//! The Bot API client used by workers, and the classification of its errors.
//!
//! The token is part of every request URL, so errors are stripped of their URL before they are
//! kept or logged: the token never leaves this module.

use std::time::{Duration, Instant};

use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::config::{Secret, TelegramSettings};

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
}

#[derive(Deserialize)]
struct Envelope {
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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.request_timeout_secs))
            .build()?;
        Ok(Self {
            http,
            base: settings.api_url.trim_end_matches('/').to_owned(),
            token: settings.token.clone(),
        })
    }

    /// `sendMessage` with plain text.
    pub async fn send_message(&self, chat_id: i64, text: &str) -> Result<Sent, TelegramError> {
        let started = Instant::now();
        let msg: Value = self
            .call("sendMessage", &json!({ "chat_id": chat_id, "text": text }))
            .await?;
        let message_id = msg.get("message_id").and_then(Value::as_i64).unwrap_or_default();
        Ok(Sent {
            message_id,
            latency: started.elapsed(),
        })
    }

    /// Calls `method` with a JSON body and decodes `result`.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, body: &Value) -> Result<T, TelegramError> {
        let url = format!("{}/bot{}/{method}", self.base, self.token.expose());
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| TelegramError::Transient(e.without_url().to_string()))?;
        let status = response.status();
        let envelope: Envelope = response.json().await.map_err(|e| {
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
        assert!(matches!(
            classify(502, "x".into(), None),
            TelegramError::Transient(_)
        ));
        assert!(matches!(
            classify(403, "blocked".into(), None),
            TelegramError::Refused { code: 403, .. }
        ));
        assert!(matches!(
            classify(400, "chat not found".into(), None),
            TelegramError::Refused { code: 400, .. }
        ));
    }
}
