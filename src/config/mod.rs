//! Typed settings, layered: built-in defaults < `config/default.toml` < `--config FILE`
//! < `AVA_<SECTION>__<KEY>` environment variables. Validated once, at start-up.

mod secret;

use std::{net::SocketAddr, path::Path};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::Deserialize;

pub use secret::Secret;

/// The defaults shipped with the binary, so it runs from any directory.
const DEFAULTS: &str = include_str!("../../config/default.toml");

/// Every setting AVA reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Bot API access.
    pub telegram: TelegramSettings,
    /// The webhook endpoint.
    pub webhook: WebhookSettings,
    /// The HTTP listener.
    pub http: HttpSettings,
    /// Redis: queue, dedupe, state.
    pub redis: RedisSettings,
    /// Postgres: the record.
    pub database: DatabaseSettings,
    /// Worker processes.
    pub worker: WorkerSettings,
    /// Logging.
    pub log: LogSettings,
}

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

/// `[webhook]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Path Telegram POSTs updates to.
    pub path: String,
    /// Expected `X-Telegram-Bot-Api-Secret-Token` (environment only).
    pub secret: Secret,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Listen address.
    pub addr: SocketAddr,
}

/// `[redis]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Connection URL; may carry a password, so it is kept secret.
    pub url: Secret,
    /// Prefix of every key AVA writes.
    pub prefix: String,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Postgres DSN; may carry a password, so it is kept secret.
    pub url: Secret,
    /// Schema of AVA's tables.
    pub schema: String,
    /// Pool size.
    pub max_connections: u32,
}

/// `[worker]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Jobs run at once by one worker process.
    pub concurrency: usize,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// tracing-subscriber filter directive.
    pub filter: String,
    /// `text` or `json`.
    pub format: String,
}

/// A setting that cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layers could not be read or do not fit the types.
    #[error("configuration: {0}")]
    Load(String),
    /// A value has the right type but is not usable.
    #[error("configuration key `{key}`: {problem}")]
    Invalid {
        /// Dotted key, e.g. `webhook.path`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Settings {
    /// Loads the layers, then validates. `file` is an optional extra TOML file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// The layered sources, for callers that add layers of their own (tests, `dev`).
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut fig =
            Figment::from(Toml::string(DEFAULTS)).merge(Toml::file("config/default.toml"));
        if let Some(file) = file {
            fig = fig.merge(Toml::file_exact(file));
        }
        fig.merge(Env::prefixed("AVA_").split("__"))
    }

    /// Extracts and validates settings from `fig`.
    pub fn from_figment(fig: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = fig
            .extract()
            .map_err(|e| ConfigError::Load(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| ConfigError::Invalid {
            key,
            problem: problem.to_owned(),
        };
        if !(self.telegram.api_url.starts_with("http://")
            || self.telegram.api_url.starts_with("https://"))
        {
            return Err(invalid(
                "telegram.api_url",
                "must be an http:// or https:// URL",
            ));
        }
        if self.telegram.request_timeout_secs == 0 {
            return Err(invalid(
                "telegram.request_timeout_secs",
                "must be at least 1",
            ));
        }
        if !self.webhook.path.starts_with('/') {
            return Err(invalid("webhook.path", "must start with '/'"));
        }
        let secret = self.webhook.secret.expose();
        if !secret.is_empty()
            && (secret.len() > 256
                || !secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(invalid(
                "webhook.secret",
                "must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)",
            ));
        }
        if !self.redis.url.expose().starts_with("redis://")
            && !self.redis.url.expose().starts_with("rediss://")
        {
            return Err(invalid("redis.url", "must be a redis:// or rediss:// URL"));
        }
        if self.redis.prefix.is_empty() || self.redis.prefix.contains(['{', '}', ' ']) {
            return Err(invalid(
                "redis.prefix",
                "must be non-empty, without braces or spaces",
            ));
        }
        if !self.database.url.expose().starts_with("postgres://")
            && !self.database.url.expose().starts_with("postgresql://")
        {
            return Err(invalid("database.url", "must be a postgres:// URL"));
        }
        if self.database.schema.is_empty()
            || !self
                .database
                .schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(invalid("database.schema", "must be letters, digits and _"));
        }
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if self.worker.concurrency == 0 {
            return Err(invalid("worker.concurrency", "must be at least 1"));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "must be \"text\" or \"json\""));
        }
        Ok(())
    }

    /// Checks what a role that talks to Telegram needs on top of [`Settings::validate`].
    pub fn require_token(&self) -> Result<(), ConfigError> {
        if self.telegram.token.expose().is_empty() {
            return Err(ConfigError::Invalid {
                key: "telegram.token",
                problem: "is required: set AVA_TELEGRAM__TOKEN".into(),
            });
        }
        Ok(())
    }

    /// Checks what the webhook ingress needs on top of [`Settings::validate`].
    pub fn require_webhook_secret(&self) -> Result<(), ConfigError> {
        if self.webhook.secret.expose().is_empty() {
            return Err(ConfigError::Invalid {
                key: "webhook.secret",
                problem: "is required: set AVA_WEBHOOK__SECRET (1-256 of A-Z a-z 0-9 _ -)".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::Serialized;

    use super::*;

    fn with(key: &str, value: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(
            Figment::from(Toml::string(DEFAULTS)).merge(Serialized::default(key, value)),
        )
    }

    #[test]
    fn defaults_load_and_validate() {
        let s = Settings::from_figment(Figment::from(Toml::string(DEFAULTS)))
            .expect("defaults are valid");
        assert_eq!(s.webhook.path, "/webhook");
        assert_eq!(s.http.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.telegram.api_url, "https://api.telegram.org");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = with("http.addr", "not an address").unwrap_err().to_string();
        assert!(err.contains("http.addr"), "{err}");
        let err = with("webhook.path", "webhook").unwrap_err().to_string();
        assert!(err.contains("webhook.path"), "{err}");
        let err = with("webhook.secret", "has spaces")
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhook.secret"), "{err}");
        let err = with("redis.url", "http://x").unwrap_err().to_string();
        assert!(err.contains("redis.url"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_rejected() {
        let err = with("http.adr", "127.0.0.1:1").unwrap_err().to_string();
        assert!(err.contains("adr"), "{err}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = with("telegram.token", "123:SECRET-TOKEN").unwrap();
        assert!(!format!("{s:?}").contains("SECRET-TOKEN"));
    }
}
