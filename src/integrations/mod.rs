//! AVA's external services behind small traits: market data and a broker, each guarded by a
//! timeout, retries with backoff (reads only) and a circuit breaker, with a Redis cache in front.
//!
//! - [`MarketData`]: [`SimulatedMarket`] (built in, deterministic), [`HttpMarket`] (AVA's own
//!   JSON shape), [`AlpacaMarket`] (stocks, options) and [`BinanceMarket`] (crypto pairs), routed
//!   by symbol kind through [`MarketRouter`].
//! - [`Broker`]: [`PaperBroker`] (accounts, orders and positions in Postgres) and
//!   [`AlpacaBroker`] (paper or live).
//! - [`symbols`] (what a symbol names, one spelling per pair) and [`calendar`] (NYSE days).
//! - [`RateLimiter`]: each provider's request rate, shared by all workers through Redis.
//! - [`Integrations`]: what the worker uses; every call goes through guard and cache.

mod alpaca_broker;
mod alpaca_data;
mod binance;
mod breaker;
mod cache;
pub mod calendar;
mod guard;
mod http_market;
mod language_model;
mod paper_broker;
mod rate_limit;
mod rest;
mod router;
mod simulated;
pub mod symbols;
mod transcribe;
mod types;

use std::future::Future;

pub use alpaca_broker::{AlpacaBroker, client_order_id};
pub use alpaca_data::AlpacaMarket;
pub use binance::BinanceMarket;
pub use breaker::{Breaker, BreakerState};
pub use cache::{Cache, CacheKind, CacheStats};
pub use guard::Guard;
pub use http_market::HttpMarket;
pub use language_model::LanguageModel;
pub use paper_broker::PaperBroker;
pub use rate_limit::RateLimiter;
pub use router::{MarketDataProvider, MarketRouter};
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
    /// Where order `order_id` of `account_id` stands now (fills since it was placed).
    fn order_status(
        &self,
        account_id: i64,
        order_id: &str,
    ) -> impl Future<Output = Result<OrderReceipt, IntegrationError>> + Send;
}

/// How one external service is doing, for /status and metrics.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceHealth {
    /// `market data` or `broker`.
    pub service: String,
    /// Breaker state.
    pub state: BreakerState,
}

/// The configured broker (a closed set, so an enum rather than a trait object).
#[derive(Clone)]
pub enum BrokerProvider {
    /// Accounts in Postgres.
    Paper(PaperBroker),
    /// Alpaca's trading API.
    Alpaca(AlpacaBroker),
}

impl Broker for BrokerProvider {
    async fn account(&self, account_id: i64) -> Result<Account, IntegrationError> {
        match self {
            Self::Paper(b) => b.account(account_id).await,
            Self::Alpaca(b) => b.account(account_id).await,
        }
    }

    async fn positions(&self, account_id: i64) -> Result<Vec<Position>, IntegrationError> {
        match self {
            Self::Paper(b) => b.positions(account_id).await,
            Self::Alpaca(b) => b.positions(account_id).await,
        }
    }

    async fn place_order(
        &self,
        account_id: i64,
        order: &OrderRequest,
        idempotency_key: &str,
    ) -> Result<OrderReceipt, IntegrationError> {
        match self {
            Self::Paper(b) => b.place_order(account_id, order, idempotency_key).await,
            Self::Alpaca(b) => b.place_order(account_id, order, idempotency_key).await,
        }
    }

    async fn order_status(&self, account_id: i64, order_id: &str) -> Result<OrderReceipt, IntegrationError> {
        match self {
            Self::Paper(b) => b.order_status(account_id, order_id).await,
            Self::Alpaca(b) => b.order_status(account_id, order_id).await,
        }
    }
}

/// Market data and broker, guarded and cached: what the worker calls.
#[derive(Clone)]
pub struct Integrations {
    market: MarketRouter,
    broker: BrokerProvider,
    broker_guard: Guard,
    cache: Cache,
}

impl Integrations {
    /// Builds the configured providers on the process' handles: the cache and the shared rate
    /// limits on its Redis handle (keys under `prefix`), the paper broker on its Postgres pool.
    pub fn new(
        market_data: &MarketDataSettings,
        broker: &BrokerSettings,
        cache: &CacheSettings,
        redis: workers::RedisConn,
        prefix: &str,
        pool: sqlx::PgPool,
    ) -> anyhow::Result<Self> {
        let market = MarketRouter::build(market_data, Some((redis.clone(), prefix)))?;
        let broker_provider = match broker.provider.as_str() {
            "alpaca" => {
                let limiter = RateLimiter::new(redis.clone(), prefix, "broker", broker.rate_per_sec);
                BrokerProvider::Alpaca(AlpacaBroker::new(broker, Some(limiter))?)
            }
            _ => {
                let starting_cents = (broker.paper_starting_cash as i64).saturating_mul(100);
                BrokerProvider::Paper(PaperBroker::new(pool, starting_cents))
            }
        };
        Ok(Self {
            market,
            broker: broker_provider,
            broker_guard: Guard::new("broker", broker.guard()),
            cache: Cache::new(redis, prefix, cache),
        })
    }

    /// Latest quote, cached for `cache.quote_ttl_secs`.
    pub async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        let resolved = self.market.resolved(symbol);
        self.cache
            .get_or_fetch(CacheKind::Quote, &resolved, || self.market.quote(&resolved))
            .await
    }

    /// Daily history from the provider (the data collector's table is read elsewhere). The
    /// running session's bar takes the quote's price, so /price, /history and /compare agree at
    /// one moment even where a provider's daily bar lags its last trade.
    pub async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        let mut bars = self.market.history(symbol, days).await?;
        if let Some(last) = bars.last_mut()
            && let Ok(quote) = self.quote(symbol).await
            && quote.at.date_naive() == last.at.date_naive()
        {
            last.price = quote.price;
        }
        Ok(bars)
    }

    /// Option chain.
    pub async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        self.market.options_chain(symbol).await
    }

    /// Fills in each position's market price the broker did not give: shares from the quote,
    /// options from the chain's mid. A price that cannot be had stays unknown (the view says
    /// so) rather than failing the whole portfolio.
    pub async fn mark_to_market(&self, positions: &mut [Position]) {
        let mut chains: std::collections::HashMap<String, Option<Vec<OptionContract>>> = Default::default();
        for position in positions.iter_mut().filter(|p| p.market_price.is_none()) {
            position.market_price = match position.option_contract() {
                None => self.quote(&position.symbol).await.ok().map(|q| q.price),
                Some((kind, strike, expiry)) => {
                    if !chains.contains_key(&position.symbol) {
                        let chain = self.options_chain(&position.symbol).await.ok();
                        chains.insert(position.symbol.clone(), chain);
                    }
                    chains[&position.symbol].as_ref().and_then(|chain| {
                        chain
                            .iter()
                            .find(|c| c.kind == kind && c.strike == strike && c.expiry == expiry)
                            .map(OptionContract::mid)
                    })
                }
            };
        }
    }

    /// Where an order stands now.
    pub async fn order_status(
        &self,
        account_id: i64,
        order_id: &str,
    ) -> Result<OrderReceipt, IntegrationError> {
        self.broker_guard
            .read(|| self.broker.order_status(account_id, order_id))
            .await
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
        self.market
            .guards()
            .chain([&self.broker_guard])
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
/// Waits for a provider's shared request rate, by provider.
pub const RATE_LIMIT_WAITS: &str = "ava_provider_rate_limit_waits_total";
/// 429 answers from providers, by service.
pub const PROVIDER_429S: &str = "ava_provider_429_total";

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
    metrics::describe_counter!(
        RATE_LIMIT_WAITS,
        "Times a call waited for its provider's request rate shared through Redis, by provider"
    );
    metrics::describe_counter!(
        PROVIDER_429S,
        "429 Too Many Requests answers from providers, by service (each pauses all workers)"
    );
}
