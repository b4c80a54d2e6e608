//! Options strategies and their analysis from a quote and an option chain (pure arithmetic).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::integrations::{Instrument, OptionContract, OptionKind, OrderRequest, Quote, Side};

/// Days to expiry the analysis aims for: the usual 30–45 day income trade.
const TARGET_DAYS: i64 = 30;
/// Distance out of the money the analysis aims for.
const TARGET_OTM: f64 = 0.05;

/// A strategy the analysis offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Sell a put, cash held as collateral.
    CashSecuredPut,
    /// Sell a call against 100 shares held.
    CoveredCall,
    /// Cash-secured puts until assigned, then covered calls.
    Wheel,
}

impl Strategy {
    /// Every strategy, in button order.
    pub const ALL: [Strategy; 3] = [Strategy::CashSecuredPut, Strategy::CoveredCall, Strategy::Wheel];

    /// Callback data suffix: `strategy:<code>`.
    pub fn code(self) -> &'static str {
        match self {
            Strategy::CashSecuredPut => "csp",
            Strategy::CoveredCall => "cc",
            Strategy::Wheel => "wheel",
        }
    }

    /// From a code or free text ("covered call", "csp", "wheel").
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        match s.as_str() {
            "csp" | "put" | "cash-secured put" | "cash secured put" => Some(Strategy::CashSecuredPut),
            "cc" | "call" | "covered call" => Some(Strategy::CoveredCall),
            "wheel" | "the wheel" => Some(Strategy::Wheel),
            _ => None,
        }
    }

    /// Human name.
    pub fn label(self) -> &'static str {
        match self {
            Strategy::CashSecuredPut => "Cash-secured put",
            Strategy::CoveredCall => "Covered call",
            Strategy::Wheel => "Wheel",
        }
    }
}

/// The suggested trade and its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Ticker.
    pub symbol: String,
    /// Strategy.
    pub strategy: Strategy,
    /// Underlying price.
    pub spot: f64,
    /// Suggested strike.
    pub strike: f64,
    /// Suggested expiry.
    pub expiry: NaiveDate,
    /// Days to expiry.
    pub days: i64,
    /// Premium per share (mid).
    pub premium: f64,
    /// Return on capital, annualised, in percent.
    pub annualised_pct: f64,
    /// Break-even price of the underlying.
    pub break_even: f64,
    /// Capital tied up: collateral for a put, shares' value for a call.
    pub capital: f64,
    /// The order that opens it (one contract).
    pub order: OrderRequest,
}

/// Picks the contract nearest 30 days and 5 % out of the money, and computes its numbers.
/// `None` when the chain has nothing suitable.
pub fn analyse(
    quote: &Quote,
    chain: &[OptionContract],
    strategy: Strategy,
    today: NaiveDate,
) -> Option<Analysis> {
    let kind = match strategy {
        Strategy::CashSecuredPut | Strategy::Wheel => OptionKind::Put,
        Strategy::CoveredCall => OptionKind::Call,
    };
    let spot = quote.price;
    let target_strike = match kind {
        OptionKind::Put => spot * (1.0 - TARGET_OTM),
        OptionKind::Call => spot * (1.0 + TARGET_OTM),
    };
    let expiry = chain
        .iter()
        .map(|c| c.expiry)
        .filter(|e| (*e - today).num_days() >= 7)
        .min_by_key(|e| ((*e - today).num_days() - TARGET_DAYS).abs())?;
    let contract = chain
        .iter()
        .filter(|c| c.kind == kind && c.expiry == expiry && c.bid > 0.0)
        // Out of the money only: selling in-the-money options is not what these strategies do.
        .filter(|c| match kind {
            OptionKind::Put => c.strike < spot,
            OptionKind::Call => c.strike > spot,
        })
        .min_by(|a, b| {
            (a.strike - target_strike)
                .abs()
                .total_cmp(&(b.strike - target_strike).abs())
        })?;
    let days = (expiry - today).num_days().max(1);
    let premium = (contract.mid() * 100.0).round() / 100.0;
    let (capital, break_even) = match kind {
        OptionKind::Put => (contract.strike * 100.0, contract.strike - premium),
        OptionKind::Call => (spot * 100.0, spot - premium),
    };
    let annualised_pct = premium * 100.0 / capital * 365.0 / days as f64 * 100.0;
    Some(Analysis {
        symbol: quote.symbol.clone(),
        strategy,
        spot,
        strike: contract.strike,
        expiry,
        days,
        premium,
        annualised_pct,
        break_even,
        capital,
        order: OrderRequest {
            symbol: quote.symbol.clone(),
            instrument: Instrument::Option {
                kind,
                strike: contract.strike,
                expiry,
            },
            side: Side::Sell,
            quantity: 1,
            limit_price: premium,
        },
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn chain(expiry: NaiveDate) -> Vec<OptionContract> {
        [95.0, 100.0, 105.0]
            .into_iter()
            .flat_map(|strike| {
                [OptionKind::Put, OptionKind::Call].map(|kind| OptionContract {
                    kind,
                    strike,
                    expiry,
                    bid: 1.9,
                    ask: 2.1,
                    delta: None,
                    implied_volatility: None,
                })
            })
            .collect()
    }

    #[test]
    fn cash_secured_put_numbers() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let expiry = NaiveDate::from_ymd_opt(2026, 12, 23).unwrap();
        let quote = Quote {
            symbol: "XYZ".into(),
            price: 100.0,
            previous_close: 100.0,
            volume: 0,
            at: Utc::now(),
        };
        let a = analyse(&quote, &chain(expiry), Strategy::CashSecuredPut, today).unwrap();
        assert_eq!((a.strike, a.premium, a.days), (95.0, 2.0, 30));
        assert_eq!(a.break_even, 93.0);
        assert_eq!(a.capital, 9500.0);
        // 2/95 over 30 days, annualised: 25.6 %.
        assert!((a.annualised_pct - 25.614).abs() < 0.01, "{}", a.annualised_pct);
        let cc = analyse(&quote, &chain(expiry), Strategy::CoveredCall, today).unwrap();
        assert_eq!((cc.strike, cc.break_even), (105.0, 98.0));
        assert!(analyse(&quote, &[], Strategy::Wheel, today).is_none());
    }
}
