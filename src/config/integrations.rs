//! `[market_data]`, `[broker]`, `[cache]` and `[trading]`: AVA's external services and their guards.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{
    ConfigError, Secret, invalid,
    providers::{AlpacaBrokerSettings, AlpacaDataSettings, BinanceSettings},
};

/// Market data providers AVA has, for `market_data.provider` and `market_data.providers`.
pub const MARKET_PROVIDERS: &[&str] = &["simulated", "http", "alpaca", "binance"];

/// Timeout, retries and circuit breaker of one external service.
///
/// Spelled out in each section rather than `#[serde(flatten)]`ed: serde cannot combine flatten
/// with `deny_unknown_fields`, and a misspelt key must stop AVA.
#[derive(Debug, Clone, Copy)]
pub struct GuardSettings {
    /// Timeout of one call.
    pub timeout_ms: u64,
    /// Extra attempts of an idempotent read after a transient failure.
    pub retries: u32,
    /// First backoff between attempts; doubles each time, with jitter.
    pub backoff_ms: u64,
    /// Consecutive failures that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before it lets one probe through.
    pub breaker_open_secs: u64,
}

impl GuardSettings {
    /// `keys` name this section's `timeout_ms`, `breaker_failures` and `breaker_open_secs`.
    fn validate(&self, keys: [&'static str; 3]) -> Result<(), ConfigError> {
        let [timeout_key, failures_key, open_key] = keys;
        if self.timeout_ms == 0 {
            return Err(invalid(timeout_key, "must be at least 1"));
        }
        if self.breaker_failures == 0 {
            return Err(invalid(failures_key, "must be at least 1"));
        }
        if self.breaker_open_secs == 0 {
            return Err(invalid(open_key, "must be at least 1"));
        }
        Ok(())
    }
}

/// `[market_data]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketDataSettings {
    /// `simulated` (built in, deterministic), `http`, `alpaca` or `binance`.
    pub provider: String,
    /// Several providers at once, routed by symbol kind (e.g. `["alpaca", "binance"]`); empty
    /// means `provider` alone.
    #[serde(default)]
    pub providers: Vec<String>,
    /// Alpaca's market data API (stocks, options).
    pub alpaca: AlpacaDataSettings,
    /// Binance's public market data API (crypto pairs).
    pub binance: BinanceSettings,
    /// Base URL of the HTTP provider.
    pub base_url: String,
    /// API key of the HTTP provider (environment only: `AVA_MARKET_DATA__API_KEY`).
    pub api_key: Secret,
    /// Pinned prices for the simulated provider, e.g. `{ AAPL = 200.0 }` (demos and tests).
    #[serde(default)]
    pub simulated_prices: BTreeMap<String, f64>,
    /// Timeout of one call.
    pub timeout_ms: u64,
    /// Extra attempts of an idempotent read after a transient failure.
    pub retries: u32,
    /// First backoff between attempts; doubles each time, with jitter.
    pub backoff_ms: u64,
    /// Consecutive failures that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before it lets one probe through.
    pub breaker_open_secs: u64,
}

impl MarketDataSettings {
    /// The providers in routing order: `providers` if set, else `provider` alone.
    pub fn active_providers(&self) -> Vec<String> {
        if self.providers.is_empty() {
            vec![self.provider.clone()]
        } else {
            self.providers.clone()
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !MARKET_PROVIDERS.contains(&self.provider.as_str()) {
            return Err(invalid(
                "market_data.provider",
                "must be \"simulated\", \"http\", \"alpaca\" or \"binance\"",
            ));
        }
        if let Some(bad) = self
            .providers
            .iter()
            .find(|p| !MARKET_PROVIDERS.contains(&p.as_str()))
        {
            return Err(ConfigError::Invalid {
                key: "market_data.providers",
                problem: format!("unknown provider {bad:?}: use simulated, http, alpaca or binance"),
            });
        }
        let active = self.active_providers();
        let uses = |name: &str| active.iter().any(|p| p == name);
        if uses("http") && !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(invalid(
                "market_data.base_url",
                "must be an http:// or https:// URL when provider = \"http\"",
            ));
        }
        self.alpaca.validate(uses("alpaca"))?;
        self.binance.validate(uses("binance"))?;
        if self
            .simulated_prices
            .values()
            .any(|p| !(p.is_finite() && *p > 0.0))
        {
            return Err(invalid("market_data.simulated_prices", "prices must be positive"));
        }
        self.guard().validate([
            "market_data.timeout_ms",
            "market_data.breaker_failures",
            "market_data.breaker_open_secs",
        ])
    }
}

/// `[broker]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSettings {
    /// `paper` (accounts, orders and positions in Postgres) or `alpaca`.
    pub provider: String,
    /// `paper` or `live`: which Alpaca endpoint `broker.alpaca.base_url` defaults to. `live`
    /// starts only behind an allowlist (`Settings::check_live_trading_access`).
    pub mode: String,
    /// Broker requests per second shared by every worker.
    pub rate_per_sec: u32,
    /// Alpaca's trading API.
    pub alpaca: AlpacaBrokerSettings,
    /// Cash a new paper account starts with, in dollars.
    pub paper_starting_cash: u64,
    /// Timeout of one call.
    pub timeout_ms: u64,
    /// Extra attempts of an idempotent read after a transient failure.
    pub retries: u32,
    /// First backoff between attempts; doubles each time, with jitter.
    pub backoff_ms: u64,
    /// Consecutive failures that open the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before it lets one probe through.
    pub breaker_open_secs: u64,
}

impl BrokerSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.provider.as_str(), "paper" | "alpaca") {
            return Err(invalid("broker.provider", "must be \"paper\" or \"alpaca\""));
        }
        if !matches!(self.mode.as_str(), "paper" | "live") {
            return Err(invalid("broker.mode", "must be \"paper\" or \"live\""));
        }
        if self.rate_per_sec == 0 {
            return Err(invalid("broker.rate_per_sec", "must be at least 1"));
        }
        // `live` behind an allowlist is checked with the access section:
        // `Settings::check_live_trading_access`.
        self.alpaca.validate(self.provider == "alpaca")?;
        self.guard().validate([
            "broker.timeout_ms",
            "broker.breaker_failures",
            "broker.breaker_open_secs",
        ])
    }
}

/// `[cache]`: Redis cache TTLs per kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Quotes.
    pub quote_ttl_secs: u64,
    /// Broker positions.
    pub positions_ttl_secs: u64,
    /// Portfolio summary (account balances).
    pub portfolio_ttl_secs: u64,
}

impl CacheSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.quote_ttl_secs == 0 || self.positions_ttl_secs == 0 || self.portfolio_ttl_secs == 0 {
            return Err(invalid("cache", "every *_ttl_secs must be at least 1"));
        }
        Ok(())
    }
}

/// `[trading]`: risk limits checked before any order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradingSettings {
    /// Largest share of the portfolio one ticker may take after an order, 0 < x <= 1.
    pub max_position_share: f64,
}

impl TradingSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.max_position_share > 0.0 && self.max_position_share <= 1.0) {
            return Err(invalid("trading.max_position_share", "must be in (0, 1]"));
        }
        Ok(())
    }
}

macro_rules! guard_of {
    ($ty:ty) => {
        impl $ty {
            /// This service's timeout, retry and breaker settings.
            pub fn guard(&self) -> GuardSettings {
                GuardSettings {
                    timeout_ms: self.timeout_ms,
                    retries: self.retries,
                    backoff_ms: self.backoff_ms,
                    breaker_failures: self.breaker_failures,
                    breaker_open_secs: self.breaker_open_secs,
                }
            }
        }
    };
}
guard_of!(MarketDataSettings);
guard_of!(BrokerSettings);
