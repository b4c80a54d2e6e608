//! The data AVA's integrations exchange: quotes, price points, option contracts, accounts, orders.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A symbol's latest price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Upper-case ticker.
    pub symbol: String,
    /// Last price.
    pub price: f64,
    /// Previous session's close, for the day's change.
    pub previous_close: f64,
    /// Volume traded today.
    pub volume: i64,
    /// When the price was observed.
    pub at: DateTime<Utc>,
}

impl Quote {
    /// Change since the previous close, in percent.
    pub fn change_pct(&self) -> f64 {
        pct_change(self.previous_close, self.price)
    }
}

/// Percent change from `from` to `to`; 0 when `from` is 0.
pub fn pct_change(from: f64, to: f64) -> f64 {
    if from == 0.0 {
        0.0
    } else {
        (to - from) / from * 100.0
    }
}

/// One observed price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricePoint {
    /// When.
    pub at: DateTime<Utc>,
    /// Price (a daily close for daily history).
    pub price: f64,
    /// Volume.
    pub volume: i64,
}

/// Put or call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionKind {
    /// Right to sell.
    Put,
    /// Right to buy.
    Call,
}

/// One listed option contract (100 shares).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionContract {
    /// Put or call.
    pub kind: OptionKind,
    /// Strike price.
    pub strike: f64,
    /// Expiry date.
    pub expiry: NaiveDate,
    /// Bid.
    pub bid: f64,
    /// Ask.
    pub ask: f64,
    /// Delta, where the provider gives greeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// Implied volatility (annualised fraction), where the provider gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implied_volatility: Option<f64>,
}

impl OptionContract {
    /// Mid price, what a paper fill uses.
    pub fn mid(&self) -> f64 {
        (self.bid + self.ask) / 2.0
    }
}

/// What an order trades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Instrument {
    /// Shares.
    Stock,
    /// An option contract on the symbol.
    Option {
        /// Put or call.
        kind: OptionKind,
        /// Strike.
        strike: f64,
        /// Expiry.
        expiry: NaiveDate,
    },
}

/// Buy or sell (to open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell (to open, for options).
    Sell,
}

/// An order AVA asks the broker to place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Underlying symbol.
    pub symbol: String,
    /// What is traded.
    pub instrument: Instrument,
    /// Buy or sell.
    pub side: Side,
    /// Shares, or contracts for options.
    pub quantity: u32,
    /// Limit price per share (per-share premium for options).
    pub limit_price: f64,
}

impl OrderRequest {
    /// Shares one unit stands for: 1 for stock, 100 per option contract.
    pub fn multiplier(&self) -> f64 {
        match self.instrument {
            Instrument::Stock => 1.0,
            Instrument::Option { .. } => 100.0,
        }
    }

    /// A short human description, e.g. "Sell 1 AAPL 2026-12-18 190 put @ 2.35".
    pub fn describe(&self) -> String {
        let side = match self.side {
            Side::Buy => "Buy",
            Side::Sell => "Sell",
        };
        match &self.instrument {
            Instrument::Stock => format!(
                "{side} {} {} @ {:.2}",
                self.quantity, self.symbol, self.limit_price
            ),
            Instrument::Option { kind, strike, expiry } => format!(
                "{side} {} {} {expiry} {strike:.2} {} @ {:.2}",
                self.quantity,
                self.symbol,
                match kind {
                    OptionKind::Put => "put",
                    OptionKind::Call => "call",
                },
                self.limit_price
            ),
        }
    }

    /// The instrument as positions name it: `AAPL` or `AAPL 2026-12-18 190.00P`.
    pub fn position_name(&self) -> String {
        match &self.instrument {
            Instrument::Stock => self.symbol.clone(),
            Instrument::Option { kind, strike, expiry } => format!(
                "{} {expiry} {strike:.2}{}",
                self.symbol,
                match kind {
                    OptionKind::Put => "P",
                    OptionKind::Call => "C",
                }
            ),
        }
    }
}

/// Where an order stands at the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Accepted, waiting for a fill.
    Open,
    /// Part of the quantity filled; the rest is still working.
    PartiallyFilled,
    /// Fully filled.
    #[default]
    Filled,
    /// Refused by the broker or the exchange.
    Rejected,
    /// Cancelled or expired without (full) fill.
    Canceled,
}

impl OrderStatus {
    /// Whether the order can still change.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Filled | Self::Rejected | Self::Canceled)
    }
}

/// A placed order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderReceipt {
    /// The broker's order id.
    pub order_id: String,
    /// Fill price per share (average so far; the limit price while nothing has filled).
    pub fill_price: f64,
    /// True when this idempotency key had already placed the order: nothing new was placed.
    pub duplicate: bool,
    /// Where the order stands.
    #[serde(default)]
    pub status: OrderStatus,
    /// Shares or contracts filled so far.
    #[serde(default)]
    pub filled_quantity: f64,
}

/// Balances of a broker account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// Cash.
    pub cash: f64,
    /// Cash held as collateral for short puts.
    pub reserved: f64,
}

impl Account {
    /// Cash free for new trades.
    pub fn buying_power(&self) -> f64 {
        self.cash - self.reserved
    }
}

/// A holding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Underlying symbol.
    pub symbol: String,
    /// `AAPL` for shares, `AAPL 2026-12-18 190.00P` for an option.
    pub instrument: String,
    /// Signed quantity (negative: short), in shares or contracts.
    pub quantity: i64,
    /// Average price per share.
    pub average_price: f64,
    /// Notional exposure to the underlying: shares × price, or strike × 100 per short put.
    pub exposure: f64,
    /// Price per share now (an option's premium per share), when known: from the broker, or
    /// marked by [`crate::integrations::Integrations::mark_to_market`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_price: Option<f64>,
}

impl Position {
    /// Whether this is an option (its name carries expiry and strike), not shares.
    pub fn is_option(&self) -> bool {
        self.instrument != self.symbol
    }

    /// Shares one unit stands for: 1, or 100 per option contract.
    pub fn multiplier(&self) -> f64 {
        if self.is_option() { 100.0 } else { 1.0 }
    }

    /// Value at the market price (negative for a short), when the price is known.
    pub fn market_value(&self) -> Option<f64> {
        self.market_price
            .map(|p| p * self.quantity as f64 * self.multiplier())
    }

    /// Gain or loss since the position was opened, at the market price, when known.
    pub fn unrealised_pnl(&self) -> Option<f64> {
        self.market_price
            .map(|p| (p - self.average_price) * self.quantity as f64 * self.multiplier())
    }

    /// `AAPL 2026-12-18 190.00P` → its contract (kind, strike, expiry); `None` for shares.
    pub fn option_contract(&self) -> Option<(OptionKind, f64, NaiveDate)> {
        let mut parts = self.instrument.split_whitespace();
        let (_, expiry, tail) = (parts.next()?, parts.next()?, parts.next()?);
        let expiry = NaiveDate::parse_from_str(expiry, "%Y-%m-%d").ok()?;
        let (strike, kind) = tail.split_at(tail.len().checked_sub(1)?);
        let kind = match kind {
            "P" => OptionKind::Put,
            "C" => OptionKind::Call,
            _ => return None,
        };
        Some((kind, strike.parse().ok()?, expiry))
    }
}
