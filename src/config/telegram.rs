//! `[telegram]` and `[webhook]`: talking to the Bot API and receiving from it.

use serde::Deserialize;

use super::{ConfigError, Secret, invalid};

/// `[telegram]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// Base URL of the Bot API, without the `/bot<token>` part.
    pub api_url: String,
    /// Bot token (environment only).
    pub token: Secret,
    /// Timeout of one Bot API request.
    pub request_timeout_secs: u64,
}

impl TelegramSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.api_url.starts_with("http://") || self.api_url.starts_with("https://")) {
            return Err(invalid("telegram.api_url", "must be an http:// or https:// URL"));
        }
        if self.request_timeout_secs == 0 {
            return Err(invalid("telegram.request_timeout_secs", "must be at least 1"));
        }
        Ok(())
    }
}

/// `[webhook]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Path Telegram POSTs updates to.
    pub path: String,
    /// Expected `X-Telegram-Bot-Api-Secret-Token` (environment only).
    pub secret: Secret,
    /// Public HTTPS URL `ava webhook set` registers with Telegram (empty: pass `--url`).
    #[serde(default)]
    pub public_url: String,
}

impl WebhookSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.path.starts_with('/') {
            return Err(invalid("webhook.path", "must start with '/'"));
        }
        if !self.public_url.is_empty() && !self.public_url.starts_with("https://") {
            return Err(invalid(
                "webhook.public_url",
                "must be an https:// URL (Telegram's rule)",
            ));
        }
        let secret = self.secret.expose();
        if !secret.is_empty() && !is_valid_secret_token(secret) {
            return Err(invalid(
                "webhook.secret",
                "must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)",
            ));
        }
        Ok(())
    }
}

/// Telegram's rule for `X-Telegram-Bot-Api-Secret-Token`: 1–256 of `A-Z a-z 0-9 _ -`.
pub fn is_valid_secret_token(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
