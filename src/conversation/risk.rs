//! Risk checks before any order: buying power, and the share of the portfolio one ticker may take.

use serde::{Deserialize, Serialize};

use super::text::money;
use crate::integrations::{Account, Instrument, OptionKind, OrderRequest, Position, Side};

/// The checks' numbers and any failures, each explained in a sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReport {
    /// Cash free for new trades.
    pub buying_power: f64,
    /// Cash the order needs (collateral net of premium for a short put).
    pub required_cash: f64,
    /// Share of the portfolio in this ticker after the order, 0–1.
    pub share_after: f64,
    /// The configured limit, 0–1.
    pub max_share: f64,
    /// Failed checks, explained. Empty: the order may go ahead.
    pub problems: Vec<String>,
}

impl RiskReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs the checks. Exposure of a short put is its strike × 100 (what assignment would cost).
pub fn check(order: &OrderRequest, account: &Account, positions: &[Position], max_share: f64) -> RiskReport {
    let units = f64::from(order.quantity);
    let shares_held: i64 = positions
        .iter()
        .filter(|p| p.instrument == order.symbol)
        .map(|p| p.quantity)
        .sum();
    let (required_cash, new_exposure) = match (&order.instrument, order.side) {
        (Instrument::Stock, Side::Buy) => (order.limit_price * units, order.limit_price * units),
        (Instrument::Stock, Side::Sell) => (0.0, -order.limit_price * units),
        (
            Instrument::Option {
                kind: OptionKind::Put,
                strike,
                ..
            },
            Side::Sell,
        ) => {
            let collateral = strike * 100.0 * units;
            (collateral - order.limit_price * 100.0 * units, collateral)
        }
        (Instrument::Option { .. }, Side::Sell) => (0.0, 0.0),
        (Instrument::Option { .. }, Side::Buy) => {
            let cost = order.limit_price * 100.0 * units;
            (cost, cost)
        }
    };
    let buying_power = account.buying_power();
    let stock_value: f64 = positions
        .iter()
        .filter(|p| p.instrument == p.symbol)
        .map(|p| p.exposure)
        .sum();
    let portfolio = (account.cash + stock_value).max(0.0);
    let ticker_exposure: f64 = positions
        .iter()
        .filter(|p| p.symbol == order.symbol)
        .map(|p| p.exposure)
        .sum();
    let exposure_after = ticker_exposure + new_exposure;
    let share_after = if portfolio > 0.0 {
        exposure_after / portfolio
    } else {
        1.0
    };

    let mut problems = Vec::new();
    if required_cash > buying_power {
        problems.push(format!(
            "Not enough buying power: this needs {} and you have {} free.",
            money(required_cash),
            money(buying_power)
        ));
    }
    let needs_shares = match (&order.instrument, order.side) {
        (
            Instrument::Option {
                kind: OptionKind::Call,
                ..
            },
            Side::Sell,
        ) => Some(100 * i64::from(order.quantity)),
        (Instrument::Stock, Side::Sell) => Some(i64::from(order.quantity)),
        _ => None,
    };
    if let Some(needed) = needs_shares.filter(|n| shares_held < *n) {
        problems.push(format!(
            "You hold {shares_held} shares of {}; this needs {needed}. Try a cash-secured put or the wheel instead.",
            order.symbol
        ));
    }
    if new_exposure > 0.0 && share_after > max_share {
        problems.push(format!(
            "{} would be {:.0}% of your portfolio; the limit is {:.0}%.",
            order.symbol,
            share_after * 100.0,
            max_share * 100.0
        ));
    }
    RiskReport {
        buying_power,
        required_cash,
        share_after,
        max_share,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn put(strike: f64) -> OrderRequest {
        OrderRequest {
            symbol: "AAPL".into(),
            instrument: Instrument::Option {
                kind: OptionKind::Put,
                strike,
                expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
            },
            side: Side::Sell,
            quantity: 1,
            limit_price: 2.0,
        }
    }

    #[test]
    fn a_put_within_limits_passes() {
        let account = Account {
            cash: 100_000.0,
            reserved: 0.0,
        };
        let r = check(&put(180.0), &account, &[], 0.25);
        assert!(r.passed(), "{:?}", r.problems);
        assert_eq!(r.required_cash, 17_800.0);
        assert!((r.share_after - 0.18).abs() < 1e-9);
    }

    #[test]
    fn failures_are_explained() {
        let poor = Account {
            cash: 10_000.0,
            reserved: 0.0,
        };
        let r = check(&put(180.0), &poor, &[], 0.25);
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
        assert!(r.problems[0].starts_with("Not enough buying power"));
        assert!(r.problems[1].contains("limit is 25%"));
        let mut call = put(200.0);
        call.instrument = Instrument::Option {
            kind: OptionKind::Call,
            strike: 200.0,
            expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        };
        let r = check(
            &call,
            &Account {
                cash: 100_000.0,
                reserved: 0.0,
            },
            &[],
            0.25,
        );
        assert!(
            r.problems[0].contains("You hold 0 shares of AAPL"),
            "{:?}",
            r.problems
        );
    }
}
