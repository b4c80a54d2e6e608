//! `[conversation]`: how long AVA waits for an answer, and how it recognises its own commands.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[conversation]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationSettings {
    /// How long a waiting conversation lives without an answer before it times out.
    pub timeout_secs: u64,
    /// How long a chat's stored state outlives its last change (Redis TTL).
    pub state_ttl_secs: u64,
    /// The bot's @username without the `@`; when set, `/cmd@otherbot` in groups is ignored.
    pub bot_username: String,
}

impl ConversationSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.timeout_secs == 0 {
            return Err(invalid("conversation.timeout_secs", "must be at least 1"));
        }
        if self.state_ttl_secs <= self.timeout_secs {
            return Err(invalid(
                "conversation.state_ttl_secs",
                "must be longer than conversation.timeout_secs",
            ));
        }
        if self.bot_username.starts_with('@') {
            return Err(invalid(
                "conversation.bot_username",
                "give it without the leading @",
            ));
        }
        Ok(())
    }
}
