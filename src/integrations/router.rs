//! The market data router: each configured provider with its own guard (timeout, retries,
//! breaker), picked by what a symbol names — a stock, an option or a crypto pair — so
//! `/compare AAPL BTC` reads AAPL from Alpaca and BTC from Binance. A bare crypto base (`BTC`)
//! means its USDT pair (`BTC-USDT`) when a configured provider trades crypto.

use std::time::Duration;

use super::{
    AlpacaMarket, BinanceMarket, Guard, HttpMarket, IntegrationError, MarketData, OptionContract, PricePoint,
    Quote, RateLimiter, SimulatedMarket,
    symbols::{self, SymbolKind},
};
use crate::config::MarketDataSettings;

/// One market data provider (a closed set, so an enum rather than a trait object).
#[derive(Clone)]
pub enum MarketDataProvider {
    /// Built in.
    Simulated(SimulatedMarket),
    /// Remote JSON API of AVA's own shape.
    Http(HttpMarket),
    /// Alpaca: stocks and options.
    Alpaca(AlpacaMarket),
    /// Binance: crypto pairs.
    Binance(BinanceMarket),
}

impl MarketDataProvider {
    /// Whether this provider answers for symbols of `kind`.
    pub fn serves(&self, kind: SymbolKind) -> bool {
        match self {
            Self::Simulated(_) => true,
            Self::Http(_) | Self::Alpaca(_) => matches!(kind, SymbolKind::Stock | SymbolKind::Option),
            Self::Binance(_) => kind == SymbolKind::Crypto,
        }
    }

    /// The provider's configuration name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Simulated(_) => "simulated",
            Self::Http(_) => "http",
            Self::Alpaca(_) => "alpaca",
            Self::Binance(_) => "binance",
        }
    }
}

impl MarketData for MarketDataProvider {
    async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        match self {
            Self::Simulated(m) => m.quote(symbol).await,
            Self::Http(m) => m.quote(symbol).await,
            Self::Alpaca(m) => m.quote(symbol).await,
            Self::Binance(m) => m.quote(symbol).await,
        }
    }

    async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        match self {
            Self::Simulated(m) => m.history(symbol, days).await,
            Self::Http(m) => m.history(symbol, days).await,
            Self::Alpaca(m) => m.history(symbol, days).await,
            Self::Binance(m) => m.history(symbol, days).await,
        }
    }

    async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        match self {
            Self::Simulated(m) => m.options_chain(symbol).await,
            Self::Http(m) => m.options_chain(symbol).await,
            Self::Alpaca(m) => m.options_chain(symbol).await,
            Self::Binance(m) => m.options_chain(symbol).await,
        }
    }
}

/// A provider and its guard.
#[derive(Clone)]
struct Route {
    provider: MarketDataProvider,
    guard: Guard,
}

/// The configured providers in order; the first that serves a symbol's kind answers for it.
#[derive(Clone)]
pub struct MarketRouter {
    routes: Vec<Route>,
}

/// Guard names are `&'static str` (they label metrics): one per provider when several run.
fn service_name(provider: &str, several: bool) -> &'static str {
    match (several, provider) {
        (false, _) => "market data",
        (true, "alpaca") => "market data (alpaca)",
        (true, "binance") => "market data (binance)",
        (true, "http") => "market data (http)",
        (true, _) => "market data (simulated)",
    }
}

impl MarketRouter {
    /// Builds every provider `settings` names. `limits` (a Redis connection and key prefix)
    /// shares each provider's request rate across workers; `None` leaves calls unlimited.
    pub fn build(
        settings: &MarketDataSettings,
        limits: Option<(workers::RedisConn, &str)>,
    ) -> anyhow::Result<Self> {
        let names = settings.active_providers();
        let timeout = Duration::from_millis(settings.timeout_ms);
        let limiter = |provider: &'static str, rate: u32| {
            limits
                .as_ref()
                .map(|(conn, prefix)| RateLimiter::new(conn.clone(), prefix, provider, rate))
        };
        let mut providers = Vec::with_capacity(names.len());
        for name in &names {
            providers.push(match name.as_str() {
                "http" => MarketDataProvider::Http(HttpMarket::new(settings)?),
                "alpaca" => MarketDataProvider::Alpaca(AlpacaMarket::new(
                    &settings.alpaca,
                    timeout,
                    limiter("alpaca", settings.alpaca.rate_per_sec),
                )?),
                "binance" => MarketDataProvider::Binance(BinanceMarket::new(
                    &settings.binance,
                    timeout,
                    limiter("binance", settings.binance.rate_per_sec),
                )?),
                _ => MarketDataProvider::Simulated(SimulatedMarket::new(settings.simulated_prices.clone())),
            });
        }
        Ok(Self::new(providers, settings))
    }

    /// A router over `providers` in order, each guarded by `settings`' guard.
    pub fn new(providers: Vec<MarketDataProvider>, settings: &MarketDataSettings) -> Self {
        let several = providers.len() > 1;
        Self {
            routes: providers
                .into_iter()
                .map(|provider| Route {
                    guard: Guard::new(service_name(provider.name(), several), settings.guard()),
                    provider,
                })
                .collect(),
        }
    }

    fn first_serving(&self, kind: SymbolKind) -> Option<&Route> {
        self.routes.iter().find(|r| r.provider.serves(kind))
    }

    /// The route for `symbol` and the symbol as that provider is asked for it.
    fn resolve(&self, symbol: &str) -> Result<(&Route, String), IntegrationError> {
        let kind = symbols::kind_of(symbol);
        // `BTC` is Bitcoin wherever crypto is served; a stock provider alone keeps it a ticker.
        if kind == SymbolKind::Stock
            && let Some(pair) = symbols::as_crypto_pair(symbol)
            && let Some(route) = self.routes.iter().find(|r| r.provider.serves(SymbolKind::Crypto))
            && (!matches!(route.provider, MarketDataProvider::Simulated(_)) || SimulatedMarket::lists(&pair))
        {
            return Ok((route, pair));
        }
        self.first_serving(kind)
            .map(|route| (route, symbol.to_owned()))
            .ok_or_else(|| IntegrationError::UnknownSymbol(symbol.to_owned()))
    }

    /// `symbol` as the provider that answers for it is asked (`BTC` → `BTC-USDT` where crypto
    /// is served): one spelling, so one cache entry per instrument.
    pub fn resolved(&self, symbol: &str) -> String {
        self.resolve(symbol)
            .map(|(_, s)| s)
            .unwrap_or_else(|_| symbol.to_owned())
    }

    /// The guards, for /status and metrics.
    pub fn guards(&self) -> impl Iterator<Item = &Guard> {
        self.routes.iter().map(|r| &r.guard)
    }
}

impl MarketData for MarketRouter {
    async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        let (route, symbol) = self.resolve(symbol)?;
        route.guard.read(|| route.provider.quote(&symbol)).await
    }

    async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        let (route, symbol) = self.resolve(symbol)?;
        route.guard.read(|| route.provider.history(&symbol, days)).await
    }

    async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        let (route, symbol) = self.resolve(symbol)?;
        if symbols::kind_of(&symbol) == SymbolKind::Crypto {
            return Err(IntegrationError::Rejected(format!(
                "no options are listed for {symbol}"
            )));
        }
        route.guard.read(|| route.provider.options_chain(&symbol)).await
    }
}
