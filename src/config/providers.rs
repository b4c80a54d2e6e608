//! `[market_data.alpaca]`, `[market_data.binance]` and `[broker.alpaca]`: where the real
//! providers live, their keys (secrets, from the environment) and their shared request rates.

use serde::Deserialize;

use super::{ConfigError, Secret, invalid};

/// Alpaca's paper trading endpoint, used when `broker.mode = "paper"` and no base URL is set.
pub const ALPACA_PAPER_URL: &str = "https://paper-api.alpaca.markets";
/// Alpaca's live trading endpoint, used when `broker.mode = "live"` and no base URL is set.
pub const ALPACA_LIVE_URL: &str = "https://api.alpaca.markets";

/// `[market_data.alpaca]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlpacaDataSettings {
    /// REST base, e.g. `https://data.alpaca.markets`.
    pub base_url: String,
    /// WebSocket stream base, e.g. `wss://stream.data.alpaca.markets`.
    pub stream_url: String,
    /// `iex` (free) or `sip`.
    pub feed: String,
    /// `APCA-API-KEY-ID` (environment: `AVA_MARKET_DATA__ALPACA__KEY_ID`).
    pub key_id: Secret,
    /// `APCA-API-SECRET-KEY` (environment: `AVA_MARKET_DATA__ALPACA__SECRET_KEY`).
    pub secret_key: Secret,
    /// Requests per second shared by every worker.
    pub rate_per_sec: u32,
}

impl AlpacaDataSettings {
    /// Options come from `indicative` (free, delayed) unless stocks use the paid `sip` feed.
    pub fn options_feed(&self) -> &'static str {
        if self.feed == "sip" { "opra" } else { "indicative" }
    }

    pub(super) fn validate(&self, in_use: bool) -> Result<(), ConfigError> {
        if !matches!(self.feed.as_str(), "iex" | "sip") {
            return Err(invalid("market_data.alpaca.feed", "must be \"iex\" or \"sip\""));
        }
        if self.rate_per_sec == 0 {
            return Err(invalid("market_data.alpaca.rate_per_sec", "must be at least 1"));
        }
        if in_use {
            require_url("market_data.alpaca.base_url", &self.base_url)?;
            if self.key_id.expose().is_empty() || self.secret_key.expose().is_empty() {
                return Err(invalid(
                    "market_data.alpaca.key_id",
                    "and market_data.alpaca.secret_key are required for the alpaca provider: set \
                     AVA_MARKET_DATA__ALPACA__KEY_ID and AVA_MARKET_DATA__ALPACA__SECRET_KEY",
                ));
            }
        }
        Ok(())
    }
}

/// `[market_data.binance]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinanceSettings {
    /// REST base, e.g. `https://api.binance.com` (no key needed for market data).
    pub base_url: String,
    /// WebSocket stream base, e.g. `wss://stream.binance.com:9443`.
    pub stream_url: String,
    /// Requests per second shared by every worker.
    pub rate_per_sec: u32,
}

impl BinanceSettings {
    pub(super) fn validate(&self, in_use: bool) -> Result<(), ConfigError> {
        if self.rate_per_sec == 0 {
            return Err(invalid("market_data.binance.rate_per_sec", "must be at least 1"));
        }
        if in_use {
            require_url("market_data.binance.base_url", &self.base_url)?;
        }
        Ok(())
    }
}

/// `[broker.alpaca]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlpacaBrokerSettings {
    /// Trading API base; empty means Alpaca's paper or live endpoint, by `broker.mode`.
    pub base_url: String,
    /// `APCA-API-KEY-ID` (environment: `AVA_BROKER__ALPACA__KEY_ID`).
    pub key_id: Secret,
    /// `APCA-API-SECRET-KEY` (environment: `AVA_BROKER__ALPACA__SECRET_KEY`).
    pub secret_key: Secret,
}

impl AlpacaBrokerSettings {
    /// The base URL in effect for `mode`.
    pub fn url_for(&self, mode: &str) -> String {
        if !self.base_url.is_empty() {
            self.base_url.trim_end_matches('/').to_owned()
        } else if mode == "live" {
            ALPACA_LIVE_URL.to_owned()
        } else {
            ALPACA_PAPER_URL.to_owned()
        }
    }

    pub(super) fn validate(&self, in_use: bool) -> Result<(), ConfigError> {
        if !self.base_url.is_empty() {
            require_url("broker.alpaca.base_url", &self.base_url)?;
        }
        if in_use && (self.key_id.expose().is_empty() || self.secret_key.expose().is_empty()) {
            return Err(invalid(
                "broker.alpaca.key_id",
                "and broker.alpaca.secret_key are required for broker.provider = \"alpaca\": set \
                 AVA_BROKER__ALPACA__KEY_ID and AVA_BROKER__ALPACA__SECRET_KEY",
            ));
        }
        Ok(())
    }
}

fn require_url(key: &'static str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(invalid(key, "must be an http:// or https:// URL"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_url_follows_the_mode_unless_set() {
        let mut s = AlpacaBrokerSettings {
            base_url: String::new(),
            key_id: Secret::default(),
            secret_key: Secret::default(),
        };
        assert_eq!(s.url_for("paper"), ALPACA_PAPER_URL);
        assert_eq!(s.url_for("live"), ALPACA_LIVE_URL);
        s.base_url = "http://127.0.0.1:9/".into();
        assert_eq!(s.url_for("live"), "http://127.0.0.1:9");
    }
}
