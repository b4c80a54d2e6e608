//! `[inbound_limit]` and `[outbound_limit]`: per-user inbound buckets and Telegram's send limits.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[inbound_limit]`: a token bucket per user, kept in Redis so it holds across ingress replicas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundLimitSettings {
    /// Turns the limit off when false.
    pub enabled: bool,
    /// Updates a user may send at once.
    pub burst: u32,
    /// Tokens added back per second.
    pub refill_per_sec: f64,
    /// The user is told about the limit at most once per this many seconds.
    pub notice_window_secs: u64,
    /// What the user is told.
    pub notice_text: String,
}

impl InboundLimitSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.burst == 0 {
            return Err(invalid("inbound_limit.burst", "must be at least 1"));
        }
        if !(self.refill_per_sec > 0.0 && self.refill_per_sec.is_finite()) {
            return Err(invalid(
                "inbound_limit.refill_per_sec",
                "must be a positive number",
            ));
        }
        if self.notice_window_secs == 0 {
            return Err(invalid("inbound_limit.notice_window_secs", "must be at least 1"));
        }
        if self.notice_text.trim().is_empty() {
            return Err(invalid("inbound_limit.notice_text", "must not be empty"));
        }
        Ok(())
    }
}

/// `[outbound_limit]`: Telegram's limits, shared by every worker process through Redis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundLimitSettings {
    /// Messages per second across all chats.
    pub global_per_sec: f64,
    /// Messages per second to one chat.
    pub chat_per_sec: f64,
    /// Messages one chat may get at once before `chat_per_sec` applies.
    pub chat_burst: u32,
    /// Messages per minute to one group.
    pub group_per_min: f64,
    /// Messages one group may get at once before `group_per_min` applies.
    pub group_burst: u32,
    /// Longest a send waits for its slot or a 429 pause; past it the job is retried later instead.
    pub max_wait_secs: u64,
    /// 429 answers one send absorbs (waiting each out) before it gives the job back for a retry.
    pub max_retry_after: u32,
}

impl OutboundLimitSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let positive = |v: f64| v > 0.0 && v.is_finite();
        if !positive(self.global_per_sec) {
            return Err(invalid(
                "outbound_limit.global_per_sec",
                "must be a positive number",
            ));
        }
        if !positive(self.chat_per_sec) {
            return Err(invalid(
                "outbound_limit.chat_per_sec",
                "must be a positive number",
            ));
        }
        if !positive(self.group_per_min) {
            return Err(invalid(
                "outbound_limit.group_per_min",
                "must be a positive number",
            ));
        }
        if self.chat_burst == 0 {
            return Err(invalid("outbound_limit.chat_burst", "must be at least 1"));
        }
        if self.group_burst == 0 {
            return Err(invalid("outbound_limit.group_burst", "must be at least 1"));
        }
        if self.max_wait_secs == 0 {
            return Err(invalid("outbound_limit.max_wait_secs", "must be at least 1"));
        }
        Ok(())
    }
}
