//! Market data over HTTP: `GET {base}/quote/{SYM}`, `/history/{SYM}?days=N`, `/options/{SYM}`,
//! JSON shaped like [`Quote`], [`PricePoint`] and [`OptionContract`]. A vendor adapter (or a
//! small proxy) maps a vendor's API to these three endpoints.
//!
//! The API key travels in the `Authorization` header, never in the URL, so it cannot reach logs.

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{IntegrationError, MarketData, OptionContract, PricePoint, Quote};
use crate::config::{MarketDataSettings, Secret};

const SERVICE: &str = "market data";

/// The HTTP market-data client.
#[derive(Clone)]
pub struct HttpMarket {
    http: reqwest::Client,
    base: String,
    api_key: Secret,
}

impl HttpMarket {
    /// A client for `settings.base_url`.
    pub fn new(settings: &MarketDataSettings) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()?;
        Ok(Self {
            http,
            base: settings.base_url.trim_end_matches('/').to_owned(),
            api_key: settings.api_key.clone(),
        })
    }

    async fn get<T: DeserializeOwned>(&self, symbol: &str, path: &str) -> Result<T, IntegrationError> {
        let unavailable = |reason: String| IntegrationError::Unavailable {
            service: SERVICE,
            reason,
        };
        let mut request = self.http.get(format!("{}{path}", self.base));
        if !self.api_key.expose().is_empty() {
            request = request.bearer_auth(self.api_key.expose());
        }
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(IntegrationError::UnknownSymbol(symbol.to_owned()));
        }
        if !status.is_success() {
            return Err(unavailable(format!("HTTP {status}")));
        }
        response
            .json()
            .await
            .map_err(|e| unavailable(format!("unreadable answer: {}", e.without_url())))
    }
}

impl MarketData for HttpMarket {
    async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        self.get(symbol, &format!("/quote/{symbol}")).await
    }

    async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        self.get(symbol, &format!("/history/{symbol}?days={days}")).await
    }

    async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        self.get(symbol, &format!("/options/{symbol}")).await
    }
}
