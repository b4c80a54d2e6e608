//! `[ingress]`, `[lanes]` and `[polling]`: how updates come in and which lane they wait in.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// Where updates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IngressMode {
    /// Telegram POSTs updates to `webhook.path`.
    Webhook,
    /// AVA long-polls getUpdates (hosts without public HTTPS).
    Polling,
}

/// `[ingress]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSettings {
    /// `webhook` or `polling`.
    pub mode: IngressMode,
    /// Largest update body accepted, in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// Upper bound on queueing one update; past it the webhook answers 503 so Telegram retries.
    pub enqueue_timeout_ms: u64,
    /// After SIGTERM, how long the listener keeps answering 503 before it closes.
    pub drain_secs: u64,
    /// Update kinds AVA processes; any other kind is acknowledged, logged and dropped.
    pub accepted_kinds: Vec<String>,
}

impl IngressSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.body_limit_bytes < 1024 {
            return Err(invalid("ingress.body_limit_bytes", "must be at least 1024"));
        }
        // Telegram must get an answer well within a second when Redis hangs.
        if !(1..=1000).contains(&self.enqueue_timeout_ms) {
            return Err(invalid(
                "ingress.enqueue_timeout_ms",
                "must be between 1 and 1000",
            ));
        }
        if self.accepted_kinds.is_empty() {
            return Err(invalid(
                "ingress.accepted_kinds",
                "must name at least one update kind",
            ));
        }
        Ok(())
    }
}

/// `[lanes]`: the rules that pick an update's lane. Anything not matched goes to `normal`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneRules {
    /// Update kinds queued in `high`, e.g. `callback_query`.
    pub high_kinds: Vec<String>,
    /// Commands (without `/`) whose messages are queued in `high`, e.g. `cancel`.
    pub high_commands: Vec<String>,
    /// Update kinds queued in `low`, e.g. `edited_message`.
    pub low_kinds: Vec<String>,
}

impl LaneRules {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self
            .high_commands
            .iter()
            .any(|c| c.is_empty() || c.starts_with('/'))
        {
            return Err(invalid(
                "lanes.high_commands",
                "commands are written without the leading '/'",
            ));
        }
        if let Some(kind) = self.high_kinds.iter().find(|k| self.low_kinds.contains(k)) {
            return Err(ConfigError::Invalid {
                key: "lanes.low_kinds",
                problem: format!("{kind:?} is also in lanes.high_kinds"),
            });
        }
        Ok(())
    }
}

/// `[polling]`: getUpdates long polling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollingSettings {
    /// Long-poll timeout Telegram holds each getUpdates open, in seconds.
    pub timeout_secs: u64,
    /// Most updates fetched per call (1-100).
    pub limit: u8,
    /// Update kinds to ask for; empty keeps Telegram's default.
    pub allowed_updates: Vec<String>,
    /// On 409 Conflict (a webhook is set), delete the webhook instead of stopping.
    pub delete_webhook: bool,
    /// Longest pause between retries after errors, in seconds.
    pub max_backoff_secs: u64,
}

impl PollingSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        // 0 would be short polling: a busy loop against Telegram.
        if !(1..=50).contains(&self.timeout_secs) {
            return Err(invalid("polling.timeout_secs", "must be between 1 and 50"));
        }
        if !(1..=100).contains(&self.limit) {
            return Err(invalid("polling.limit", "must be between 1 and 100"));
        }
        if self.max_backoff_secs == 0 {
            return Err(invalid("polling.max_backoff_secs", "must be at least 1"));
        }
        Ok(())
    }
}
