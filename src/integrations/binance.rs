//! Binance's public market data (no key): the 24 h ticker (`GET /api/v3/ticker/24hr`) for
//! quotes and daily klines (`GET /api/v3/klines`) for history. Pairs are AVA's `BASE-QUOTE`;
//! Binance spells them glued (`BTCUSDT`). Binance lists no options for spot pairs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    IntegrationError, MarketData, OptionContract, PricePoint, Quote, RateLimiter,
    rest::{Answer, Rest, num},
    symbols,
};
use crate::config::BinanceSettings;

const SERVICE: &str = "market data";
/// Binance's code for a symbol it does not list.
const INVALID_SYMBOL: i64 = -1121;

/// The Binance market data client.
#[derive(Clone)]
pub struct BinanceMarket {
    rest: Rest,
}

/// `GET /api/v3/ticker/24hr?symbol=…`: numbers arrive as strings.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ticker24h {
    last_price: String,
    open_price: String,
    volume: String,
    close_time: i64,
}

impl BinanceMarket {
    /// A client for `settings.base_url`; `limiter` shares the request rate across workers.
    pub fn new(
        settings: &BinanceSettings,
        timeout: Duration,
        limiter: Option<RateLimiter>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            rest: Rest::new(SERVICE, &settings.base_url, timeout, vec![], limiter)?,
        })
    }

    /// `BTC-USDT` (or a bare `BTC`) → `BTCUSDT`; anything not a pair is unknown here.
    fn pair(symbol: &str) -> Result<(String, String), IntegrationError> {
        let canonical = symbols::as_crypto_pair(symbol)
            .ok_or_else(|| IntegrationError::UnknownSymbol(symbol.to_owned()))?;
        let wire = canonical.replace('-', "");
        Ok((canonical, wire))
    }

    fn classify(symbol: &str) -> impl FnOnce(&Answer) -> IntegrationError + '_ {
        move |answer| {
            let code = serde_json::from_slice::<Value>(&answer.body)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_i64));
            if code == Some(INVALID_SYMBOL) || answer.status == reqwest::StatusCode::NOT_FOUND {
                IntegrationError::UnknownSymbol(symbol.to_owned())
            } else {
                IntegrationError::Unavailable {
                    service: SERVICE,
                    reason: format!("Binance: {}", answer.message()),
                }
            }
        }
    }
}

fn ms_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
}

fn unreadable(what: &str) -> IntegrationError {
    IntegrationError::Unavailable {
        service: SERVICE,
        reason: format!("Binance: unreadable {what}"),
    }
}

impl MarketData for BinanceMarket {
    async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        let (canonical, wire) = Self::pair(symbol)?;
        let ticker: Ticker24h = self
            .rest
            .get_json("/api/v3/ticker/24hr", &[("symbol", wire)], Self::classify(symbol))
            .await?;
        let parse = |s: &str| s.parse::<f64>().map_err(|_| unreadable("ticker"));
        Ok(Quote {
            symbol: canonical,
            price: parse(&ticker.last_price)?,
            // Crypto never closes: "previous close" is the price 24 h ago, so the change shown
            // is Binance's own 24 h change.
            previous_close: parse(&ticker.open_price)?,
            volume: parse(&ticker.volume)?.round() as i64,
            at: ms_time(ticker.close_time).min(Utc::now()),
        })
    }

    async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        let (_, wire) = Self::pair(symbol)?;
        let query = [
            ("symbol", wire),
            ("interval", "1d".to_owned()),
            ("limit", days.clamp(1, 1000).to_string()),
        ];
        let klines: Vec<Vec<Value>> = self
            .rest
            .get_json("/api/v3/klines", &query, Self::classify(symbol))
            .await?;
        let now = Utc::now();
        klines
            .iter()
            .map(|k| {
                // [open time, open, high, low, close, volume, close time, ...]
                let close = k.get(4).and_then(num).ok_or_else(|| unreadable("kline"))?;
                let volume = k.get(5).and_then(num).ok_or_else(|| unreadable("kline"))?;
                let close_time = k
                    .get(6)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| unreadable("kline"))?;
                // Today's bar is still running: it is "now", at the latest price.
                Ok(PricePoint {
                    at: ms_time(close_time).min(now),
                    price: close,
                    volume: volume.round() as i64,
                })
            })
            .collect()
    }

    async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        Err(IntegrationError::Rejected(format!(
            "no options are listed for {symbol}"
        )))
    }
}
