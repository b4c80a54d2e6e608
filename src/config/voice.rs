//! `[voice]`: transcription of voice messages by an OpenAI-compatible `/v1/audio/transcriptions`
//! endpoint (OpenAI, or a local whisper server), with limits on what is downloaded.

use serde::Deserialize;

use super::{ConfigError, GuardSettings, Secret, invalid};

/// Largest file the Bot API lets a bot download (getFile), in bytes.
const BOT_API_DOWNLOAD_LIMIT: u64 = 20 * 1024 * 1024;

/// `[voice]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceSettings {
    /// `none` (voice messages get a polite refusal) or `whisper_http`.
    pub provider: String,
    /// Base URL of the transcription server; `/v1/audio/transcriptions` is appended.
    pub base_url: String,
    /// Bearer key of the transcription server (environment only: `AVA_VOICE__API_KEY`).
    pub api_key: Secret,
    /// Model name sent with each request, e.g. `whisper-1`.
    pub model: String,
    /// Longest voice message transcribed, in seconds.
    pub max_duration_secs: u32,
    /// Largest voice file downloaded, in bytes.
    pub max_bytes: u64,
    /// Timeout of one transcription, download included.
    pub timeout_ms: u64,
    /// Consecutive failures that open the transcription breaker.
    pub breaker_failures: u32,
    /// How long the open breaker refuses calls.
    pub breaker_open_secs: u64,
}

impl VoiceSettings {
    /// Whether voice messages are transcribed.
    pub fn enabled(&self) -> bool {
        self.provider == "whisper_http"
    }

    /// Timeout and breaker of the transcription calls (never retried: the user can resend).
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
            "whisper_http" => {}
            _ => return Err(invalid("voice.provider", "must be \"none\" or \"whisper_http\"")),
        }
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(invalid(
                "voice.base_url",
                "must be an http(s) URL, e.g. https://api.openai.com",
            ));
        }
        if self.model.is_empty() {
            return Err(invalid("voice.model", "is required, e.g. whisper-1"));
        }
        if !(1..=600).contains(&self.max_duration_secs) {
            return Err(invalid("voice.max_duration_secs", "must be 1-600"));
        }
        if !(1..=BOT_API_DOWNLOAD_LIMIT).contains(&self.max_bytes) {
            return Err(invalid(
                "voice.max_bytes",
                "must be 1 to 20 MB (the Bot API's download limit)",
            ));
        }
        if self.timeout_ms == 0 || self.breaker_failures == 0 || self.breaker_open_secs == 0 {
            return Err(invalid(
                "voice.timeout_ms",
                "timeout_ms, breaker_failures and breaker_open_secs must be at least 1",
            ));
        }
        Ok(())
    }
}
