//! `[http]`, `[redis]`, `[database]` and `[log]`: where AVA listens and what it connects to.

use std::net::SocketAddr;

use serde::Deserialize;

use super::{ConfigError, Secret, invalid};

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Listen address.
    pub addr: SocketAddr,
    /// Where the ingress serves `GET /metrics` instead of `addr`, so the port Telegram reaches
    /// need not expose it (e.g. `127.0.0.1:9100`). Empty: on `addr`.
    #[serde(default)]
    pub metrics_addr: String,
}

impl HttpSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.metrics_addr.is_empty() && self.metrics_addr.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "http.metrics_addr",
                "must be an address like 127.0.0.1:9100, or empty",
            ));
        }
        Ok(())
    }
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

impl RedisSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose();
        if !url.starts_with("redis://") && !url.starts_with("rediss://") {
            return Err(invalid("redis.url", "must be a redis:// or rediss:// URL"));
        }
        if self.prefix.is_empty() || self.prefix.contains(['{', '}', ' ']) {
            return Err(invalid(
                "redis.prefix",
                "must be non-empty, without braces or spaces",
            ));
        }
        Ok(())
    }
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

impl DatabaseSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose();
        if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return Err(invalid("database.url", "must be a postgres:// URL"));
        }
        if self.schema.is_empty()
            || !self
                .schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(invalid("database.schema", "must be letters, digits and _"));
        }
        if self.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        Ok(())
    }
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

impl LogSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "must be \"text\" or \"json\""));
        }
        // A directive that does not parse would otherwise silently turn logging off.
        crate::telemetry::parse_filter(&self.filter).map_err(|e| {
            invalid(
                "log.filter",
                &format!("{e} (e.g. \"info\" or \"warn,ava=debug\")"),
            )
        })?;
        Ok(())
    }
}
