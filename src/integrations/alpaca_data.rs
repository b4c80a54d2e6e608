//! Alpaca's market data API: stock snapshots (`GET /v2/stocks/{sym}/snapshot`), daily bars
//! (`GET /v2/stocks/{sym}/bars`) and option chains with greeks
//! (`GET /v1beta1/options/snapshots/{underlying}`). Keys travel in the `APCA-API-KEY-ID` and
//! `APCA-API-SECRET-KEY` headers, never in a URL.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;

use super::{
    IntegrationError, MarketData, OptionContract, PricePoint, Quote, RateLimiter, calendar,
    rest::{Answer, Rest},
    symbols,
};
use crate::config::AlpacaDataSettings;

const SERVICE: &str = "market data";
/// Pages of an option chain read at most (1,000 contracts each).
const MAX_CHAIN_PAGES: usize = 5;
/// How far out the chain is read: the wheel sells 1–8 weeks out.
const CHAIN_DAYS: i64 = 60;

/// The Alpaca market data client.
#[derive(Clone)]
pub struct AlpacaMarket {
    rest: Rest,
    feed: String,
    options_feed: &'static str,
}

#[derive(Deserialize)]
struct Trade {
    t: DateTime<Utc>,
    p: f64,
}

#[derive(Deserialize)]
struct Bar {
    t: DateTime<Utc>,
    c: f64,
    v: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    latest_trade: Option<Trade>,
    daily_bar: Option<Bar>,
    prev_daily_bar: Option<Bar>,
}

#[derive(Deserialize)]
struct Bars {
    #[serde(default)]
    bars: Option<Vec<Bar>>,
}

#[derive(Deserialize)]
struct OptionQuote {
    bp: f64,
    ap: f64,
}

#[derive(Deserialize)]
struct Greeks {
    delta: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptionSnapshot {
    latest_quote: Option<OptionQuote>,
    greeks: Option<Greeks>,
    implied_volatility: Option<f64>,
}

#[derive(Deserialize)]
struct OptionSnapshots {
    #[serde(default)]
    snapshots: HashMap<String, OptionSnapshot>,
    next_page_token: Option<String>,
}

impl AlpacaMarket {
    /// A client for `settings.base_url` with the configured feed and keys.
    pub fn new(
        settings: &AlpacaDataSettings,
        timeout: Duration,
        limiter: Option<RateLimiter>,
    ) -> anyhow::Result<Self> {
        let headers = vec![
            ("APCA-API-KEY-ID", settings.key_id.clone()),
            ("APCA-API-SECRET-KEY", settings.secret_key.clone()),
        ];
        Ok(Self {
            rest: Rest::new(SERVICE, &settings.base_url, timeout, headers, limiter)?,
            feed: settings.feed.clone(),
            options_feed: settings.options_feed(),
        })
    }

    fn classify(symbol: &str) -> impl FnOnce(&Answer) -> IntegrationError + '_ {
        move |answer| match answer.status {
            // Alpaca answers an unlisted or malformed symbol with 404 or 422.
            StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => {
                IntegrationError::UnknownSymbol(symbol.to_owned())
            }
            status => IntegrationError::Unavailable {
                service: SERVICE,
                reason: format!("Alpaca: HTTP {status}: {}", answer.message()),
            },
        }
    }

    fn stock(symbol: &str) -> Result<&str, IntegrationError> {
        if symbols::kind_of(symbol) == symbols::SymbolKind::Stock && symbols::is_plausible_stock(symbol) {
            Ok(symbol)
        } else {
            Err(IntegrationError::UnknownSymbol(symbol.to_owned()))
        }
    }
}

impl MarketData for AlpacaMarket {
    async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        let symbol = Self::stock(symbol)?;
        let snap: Snapshot = self
            .rest
            .get_json(
                &format!("/v2/stocks/{symbol}/snapshot"),
                &[("feed", self.feed.clone())],
                Self::classify(symbol),
            )
            .await?;
        let (Some(trade), Some(prev)) = (snap.latest_trade, snap.prev_daily_bar) else {
            return Err(IntegrationError::UnknownSymbol(symbol.to_owned()));
        };
        Ok(Quote {
            symbol: symbol.to_owned(),
            price: trade.p,
            previous_close: prev.c,
            volume: snap.daily_bar.map(|b| b.v.round() as i64).unwrap_or(0),
            at: trade.t,
        })
    }

    async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        let symbol = Self::stock(symbol)?;
        let now = Utc::now();
        let start = (now - chrono::Duration::days(i64::from(days))).date_naive();
        let query = [
            ("timeframe", "1Day".to_owned()),
            ("start", start.to_string()),
            ("limit", (days + 5).to_string()),
            ("adjustment", "raw".to_owned()),
            ("feed", self.feed.clone()),
        ];
        let bars: Bars = self
            .rest
            .get_json(
                &format!("/v2/stocks/{symbol}/bars"),
                &query,
                Self::classify(symbol),
            )
            .await?;
        Ok(bars
            .bars
            .unwrap_or_default()
            .into_iter()
            // A daily bar is stamped at midnight New York time; AVA dates a close at the bell.
            .filter(|b| calendar::is_trading_day(b.t.date_naive()))
            .map(|b| PricePoint {
                at: calendar::session_close(b.t.date_naive()).min(now),
                price: b.c,
                volume: b.v.round() as i64,
            })
            .collect())
    }

    async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        let symbol = Self::stock(symbol)?;
        let today = Utc::now().date_naive();
        let mut chain = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_CHAIN_PAGES {
            let mut query = vec![
                ("feed", self.options_feed.to_owned()),
                ("limit", "1000".to_owned()),
                ("expiration_date_gte", today.to_string()),
                (
                    "expiration_date_lte",
                    (today + chrono::Duration::days(CHAIN_DAYS)).to_string(),
                ),
            ];
            if let Some(token) = page_token.take() {
                query.push(("page_token", token));
            }
            let page: OptionSnapshots = self
                .rest
                .get_json(
                    &format!("/v1beta1/options/snapshots/{symbol}"),
                    &query,
                    Self::classify(symbol),
                )
                .await?;
            for (occ, snap) in page.snapshots {
                let (Some(contract), Some(quote)) = (symbols::parse_occ(&occ), snap.latest_quote) else {
                    continue;
                };
                // A contract nobody bids for cannot be sold; a crossed quote is stale.
                if quote.bp <= 0.0 || quote.ap < quote.bp {
                    continue;
                }
                chain.push(OptionContract {
                    kind: contract.kind,
                    strike: contract.strike,
                    expiry: contract.expiry,
                    bid: quote.bp,
                    ask: quote.ap,
                    delta: snap.greeks.and_then(|g| g.delta),
                    implied_volatility: snap.implied_volatility,
                });
            }
            match page.next_page_token {
                Some(token) if !token.is_empty() => page_token = Some(token),
                _ => break,
            }
        }
        if chain.is_empty() {
            return Err(IntegrationError::UnknownSymbol(symbol.to_owned()));
        }
        chain.sort_by(|a, b| {
            (a.expiry, a.strike, a.kind as u8)
                .partial_cmp(&(b.expiry, b.strike, b.kind as u8))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(chain)
    }
}
