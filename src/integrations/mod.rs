//! AVA's external services behind small traits: market data and a broker, each guarded by a
//! timeout, retries with backoff (reads only) and a circuit breaker, with a Redis cache in front.
//!
//! - [`MarketData`]: [`SimulatedMarket`] (built in, deterministic) and [`HttpMarket`].
//! - [`Broker`]: [`PaperBroker`] (accounts, orders and positions in Postgres).
//! - [`Integrations`]: what the worker uses; every call goes through guard and cache.

mod breaker;
mod cache;
mod guard;
mod http_market;
mod language_model;
mod paper_broker;
mod simulated;
mod transcribe;
mod types;

use std::future::Future;

pub use breaker::{Breaker, BreakerState};
pub use cache::{Cache, CacheKind, CacheStats};
pub use guard::Guard;
pub use http_market::HttpMarket;
pub use language_model::LanguageModel;
pub use paper_broker::PaperBroker;
pub use simulated::{SimulatedMarket, is_plausible_symbol};
pub use transcribe::Transcriber;
pub use types::*;

use crate::config::{BrokerSettings, CacheSettings, MarketDataSettings};

/// The `service` of an [`IntegrationError::Unavailable`] that means AVA's own Postgres, for reads
/// a user waits on (alerts, price history): the user hears "I can't reach my records right now".
pub const RECORDS: &str = "records";

/// Why an external call gave no answer. Classified once, where it is known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntegrationError {
    /// The provider does not know this symbol: the user's input is wrong, nothing is broken.
    #[error("unknown symbol {0}")]
    UnknownSymbol(String),
    /// Timeout, network error, 5xx: the service is not answering well; retrying may help.
    #[error("{service} unavailable: {reason}")]
    Unavailable {
        /// `market data` or `broker`.
        service: &'static str,
        /// What went wrong, without secrets.
        reason: String,
    },
    /// The breaker is open: the call was not even tried.
    #[error("{service} paused after repeated failures; next try in {retry_in_secs}s")]
    BreakerOpen {
        /// `market data` or `broker`.
        service: &'static str,
        /// Seconds until the breaker lets a probe through.
        retry_in_secs: u64,
    },
    /// The broker refused the order (e.g. not enough buying power).
    #[error("order rejected: {0}")]
    Rejected(String),
}

impl IntegrationError {
    /// Whether this failure says the service is unhealthy (counts towards opening the breaker).
    pub fn is_service_failure(&self) -> bool {
        matches!(self, IntegrationError::Unavailable { .. })
    }
}

/// Quotes, history and option chains.
pub trait MarketData: Send + Sync {
    /// The latest quote of `symbol`.
    fn quote(&self, symbol: &str) -> impl Future<Output = Result<Quote, IntegrationError>> + Send;
    /// Daily closes of the last `days` days, oldest first.
    fn history(
        &self,
        symbol: &str,
        days: u32,
    ) -> impl Future<Output = Result<Vec<PricePoint>, IntegrationError>> + Send;
    /// Listed options of `symbol`.
    fn options_chain(
        &self,
        symbol: &str,
    ) -> impl Future<Output = Result<Vec<OptionContract>, IntegrationError>> + Send;
}

/// Accounts, positions and orders. An account is a chat's.
pub trait Broker: Send + Sync {
    /// Balances of `account_id`, opened on first use.
    fn account(&self, account_id: i64) -> impl Future<Output = Result<Account, IntegrationError>> + Send;
    /// Holdings of `account_id`.
    fn positions(
        &self,
        account_id: i64,
    ) -> impl Future<Output = Result<Vec<Position>, IntegrationError>> + Send;
    /// Places `order` once per `idempotency_key`: a repeat returns the first order, marked duplicate.
    fn place_order(
        &self,
        account_id: i64,
        order: &OrderRequest,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<OrderReceipt, IntegrationError>> + Send;
}

/// The configured market data provider (a closed set, so an enum rather than a trait object).
#[derive(Clone)]
pub enum MarketDataProvider {
    /// Built in.
    Simulated(SimulatedMarket),
    /// Remote JSON API.
    Http(HttpMarket),
}

impl MarketData for MarketDataProvider {
    async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        match self {
            Self::Simulated(m) => m.quote(symbol).await,
            Self::Http(m) => m.quote(symbol).await,
        }
    }

    async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        match self {
            Self::Simulated(m) => m.history(symbol, days).await,
            Self::Http(m) => m.history(symbol, days).await,
        }
    }

    async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        match self {
            Self::Simulated(m) => m.options_chain(symbol).await,
            Self::Http(m) => m.options_chain(symbol).await,
        }
    }
}

/// How one external service is doing, for /status and metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceHealth {
    /// `market data` or `broker`.
    pub service: String,
    /// Breaker state.
    pub state: BreakerState,
}

/// Market data and broker, guarded and cached: what the worker calls.
#[derive(Clone)]
pub struct Integrations {
    market: MarketDataProvider,
    broker: PaperBroker,
    market_guard: Guard,
    broker_guard: Guard,
    cache: Cache,
}

impl Integrations {
    /// Builds the configured providers on the process' handles: the cache on its Redis handle
    /// (keys under `prefix`), the paper broker on its Postgres pool.
    pub fn new(
        market_data: &MarketDataSettings,
        broker: &BrokerSettings,
        cache: &CacheSettings,
        redis: workers::RedisConn,
        prefix: &str,
        pool: sqlx::PgPool,
    ) -> anyhow::Result<Self> {
        let market = match market_data.provider.as_str() {
            "http" => MarketDataProvider::Http(HttpMarket::new(market_data)?),
            _ => MarketDataProvider::Simulated(SimulatedMarket::new(market_data.simulated_prices.clone())),
        };
        let starting_cents = (broker.paper_starting_cash as i64).saturating_mul(100);
        Ok(Self {
            market,
            broker: PaperBroker::new(pool, starting_cents),
            market_guard: Guard::new("market data", market_data.guard()),
            broker_guard: Guard::new("broker", broker.guard()),
            cache: Cache::new(redis, prefix, cache),
        })
    }

    /// Latest quote, cached for `cache.quote_ttl_secs`.
    pub async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        self.cache
            .get_or_fetch(CacheKind::Quote, symbol, || {
                self.market_guard.read(|| self.market.quote(symbol))
            })
            .await
    }

    /// Daily history straight from the provider (the data collector's table is read elsewhere).
    pub async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        self.market_guard.read(|| self.market.history(symbol, days)).await
    }

    /// Option chain.
    pub async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        self.market_guard.read(|| self.market.options_chain(symbol)).await
    }

    /// Account balances, cached for `cache.portfolio_ttl_secs`.
    pub async fn account(&self, account_id: i64) -> Result<Account, IntegrationError> {
        let id = account_id.to_string();
        self.cache
            .get_or_fetch(CacheKind::Portfolio, &id, || {
                self.broker_guard.read(|| self.broker.account(account_id))
            })
            .await
    }

    /// Positions, cached for `cache.positions_ttl_secs`.
    pub async fn positions(&self, account_id: i64) -> Result<Vec<Position>, IntegrationError> {
        let id = account_id.to_string();
        self.cache
            .get_or_fetch(CacheKind::Positions, &id, || {
                self.broker_guard.read(|| self.broker.positions(account_id))
            })
            .await
    }

    /// Places an order (never retried blindly: the idempotency key makes a job retry safe), then
    /// drops the account's cached balances and positions, which it changed.
    pub async fn place_order(
        &self,
        account_id: i64,
        order: &OrderRequest,
        idempotency_key: &str,
    ) -> Result<OrderReceipt, IntegrationError> {
        let receipt = self
            .broker_guard
            .write(|| self.broker.place_order(account_id, order, idempotency_key))
            .await?;
        let id = account_id.to_string();
        self.cache.invalidate(CacheKind::Portfolio, &id).await;
        self.cache.invalidate(CacheKind::Positions, &id).await;
        Ok(receipt)
    }

    /// Breaker states of every service.
    pub fn health(&self) -> Vec<ServiceHealth> {
        [&self.market_guard, &self.broker_guard]
            .into_iter()
            .map(|g| ServiceHealth {
                service: g.service().to_owned(),
                state: g.breaker().state(),
            })
            .collect()
    }

    /// Cache hit/miss counts of this process.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}

/// Circuit breaker state per service: 0 closed, 1 half-open, 2 open.
pub const BREAKER_STATE: &str = "ava_breaker_state";
/// Cache lookups by kind and result.
pub const CACHE_REQUESTS: &str = "ava_cache_requests_total";
/// External calls by service and result.
pub const EXTERNAL_CALLS: &str = "ava_external_calls_total";

/// Declares the metrics this module records, with their help text.
pub fn describe_metrics() {
    metrics::describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker state per external service: 0 closed, 1 half-open, 2 open"
    );
    metrics::describe_counter!(
        CACHE_REQUESTS,
        "Cache lookups of external data by kind and result (hit, miss)"
    );
    metrics::describe_counter!(
        EXTERNAL_CALLS,
        "Calls to external services by service and result (ok, error, rejected_open)"
    );
}
