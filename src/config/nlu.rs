//! `[nlu]`: the optional language model for text the intent parser cannot place.

use serde::Deserialize;

use super::{ConfigError, GuardSettings, Secret, invalid};

/// `[nlu]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NluSettings {
    /// `none`, `anthropic` (Messages API, tool use) or `openai_compatible` (chat completions, tools).
    pub provider: String,
    /// API base URL; empty means the provider's own (`https://api.anthropic.com`, `https://api.openai.com`).
    pub base_url: String,
    /// Model name, e.g. `claude-3-5-haiku-latest` or `gpt-4o-mini`.
    pub model: String,
    /// API key (environment only: `AVA_NLU__API_KEY`).
    pub api_key: Secret,
    /// Model requests one user may cause per UTC day; past it, text is "not understood".
    pub daily_requests_per_user: u32,
    /// Timeout of one model call.
    pub timeout_ms: u64,
    /// Consecutive failures that open the model's breaker.
    pub breaker_failures: u32,
    /// How long the open breaker refuses calls.
    pub breaker_open_secs: u64,
}

impl NluSettings {
    /// Whether a model is configured.
    pub fn enabled(&self) -> bool {
        self.provider != "none"
    }

    /// The base URL to call.
    pub fn base(&self) -> &str {
        match (self.base_url.trim_end_matches('/'), self.provider.as_str()) {
            ("", "anthropic") => "https://api.anthropic.com",
            ("", _) => "https://api.openai.com",
            (base, _) => base,
        }
    }

    /// Timeout and breaker of model calls (never retried: the user is waiting).
    pub fn guard(&self) -> GuardSettings {
        GuardSettings {
            timeout_ms: self.timeout_ms,
            retries: 0,
            backoff_ms: 0,
            breaker_failures: self.breaker_failures,
            breaker_open_secs: self.breaker_open_secs,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        match self.provider.as_str() {
            "none" => return Ok(()),
            "anthropic" | "openai_compatible" => {}
            _ => {
                return Err(invalid(
                    "nlu.provider",
                    "must be \"none\", \"anthropic\" or \"openai_compatible\"",
                ));
            }
        }
        let base = self.base();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(invalid("nlu.base_url", "must be an http(s) URL"));
        }
        if self.model.is_empty() {
            return Err(invalid("nlu.model", "is required when nlu.provider is set"));
        }
        if self.daily_requests_per_user == 0 {
            return Err(invalid("nlu.daily_requests_per_user", "must be at least 1"));
        }
        if self.timeout_ms == 0 || self.breaker_failures == 0 || self.breaker_open_secs == 0 {
            return Err(invalid(
                "nlu.timeout_ms",
                "timeout_ms, breaker_failures and breaker_open_secs must be at least 1",
            ));
        }
        Ok(())
    }
}
