//! The built-in market: deterministic per symbol and time, plausible prices and option premiums
//! (Black–Scholes). Used by `ava dev` and the tests; no network.
//!
//! One source of truth per symbol and minute: a quote, the last history bar and a comparison
//! read the same model at the same (minute-rounded) moment. Stocks follow the NYSE calendar —
//! bars only on trading days, dated at the closing bell, the price frozen while the market is
//! closed, expiries only on expiration days; crypto pairs trade around the clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};

use super::{
    IntegrationError, MarketData, OptionContract, OptionKind, PricePoint, Quote, calendar,
    symbols::{self, SymbolKind},
};

/// Symbols the simulated market lists, with a base price and an annual volatility.
const UNIVERSE: &[(&str, f64, f64)] = &[
    ("AAPL", 190.0, 0.25),
    ("MSFT", 420.0, 0.24),
    ("NVDA", 140.0, 0.50),
    ("TSLA", 250.0, 0.60),
    ("AMZN", 185.0, 0.30),
    ("GOOGL", 170.0, 0.28),
    ("META", 560.0, 0.35),
    ("AMD", 150.0, 0.50),
    ("NFLX", 700.0, 0.35),
    ("SPY", 580.0, 0.15),
    ("QQQ", 500.0, 0.18),
    ("IWM", 220.0, 0.22),
    ("JPM", 210.0, 0.22),
    ("KO", 62.0, 0.15),
    ("DIS", 95.0, 0.28),
    ("INTC", 22.0, 0.45),
    ("BA", 160.0, 0.40),
    ("COIN", 230.0, 0.80),
    ("PLTR", 40.0, 0.70),
    ("F", 11.0, 0.35),
    // Crypto pairs, named as the intent parser names them (`btc` → BTC-USDT).
    ("BTC-USDT", 100_000.0, 0.55),
    ("ETH-USDT", 3_500.0, 0.70),
    ("SOL-USDT", 200.0, 0.90),
];

/// Risk-free rate used for premiums.
const RATE: f64 = 0.04;

/// Whether `s` could be a ticker at all (1–6 letters, digits, `.` or `-`, starting with a letter).
pub fn is_plausible_symbol(s: &str) -> bool {
    symbols::is_plausible_stock(s)
}

/// `at` rounded down to its minute: the model's unit of "one moment".
fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp() - at.timestamp().rem_euclid(60), 0).unwrap_or(at)
}

/// The simulated market; `pinned` prices override the model (demos, tests).
#[derive(Debug, Clone, Default)]
pub struct SimulatedMarket {
    pinned: BTreeMap<String, f64>,
}

fn seed(symbol: &str, salt: u64) -> u64 {
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in symbol.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn unit(symbol: &str, salt: u64) -> f64 {
    (seed(symbol, salt) % 10_000) as f64 / 10_000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl SimulatedMarket {
    /// A market with these pinned prices.
    pub fn new(pinned: BTreeMap<String, f64>) -> Self {
        Self { pinned }
    }

    /// Whether the simulated market lists `symbol`.
    pub fn lists(symbol: &str) -> bool {
        Self::listing(symbol).is_ok()
    }

    fn listing(symbol: &str) -> Result<(f64, f64), IntegrationError> {
        UNIVERSE
            .iter()
            .find(|(s, ..)| *s == symbol)
            .map(|(_, base, vol)| (*base, *vol))
            .ok_or_else(|| IntegrationError::UnknownSymbol(symbol.to_owned()))
    }

    /// The model price of `symbol` at `at`: two slow waves and a little per-minute noise.
    fn price_at(symbol: &str, base: f64, at: DateTime<Utc>) -> f64 {
        let days = at.timestamp() as f64 / 86_400.0;
        let tau = std::f64::consts::TAU;
        let slow = 0.06 * (tau * days / 37.0 + tau * unit(symbol, 1)).sin();
        let fast = 0.025 * (tau * days / 6.3 + tau * unit(symbol, 2)).sin();
        let minute = (at.timestamp() / 60) as u64;
        let noise = 0.004 * (unit(symbol, minute.wrapping_mul(31)) - 0.5);
        round2(base * (1.0 + slow + fast + noise))
    }

    fn sigma(symbol: &str) -> f64 {
        Self::listing(symbol).map(|(_, v)| v).unwrap_or(0.3)
    }

    /// The model's price of `symbol` at `at` (pinned prices win), and the moment it is from: a
    /// stock's price stands still from the closing bell to the next open.
    fn observed(&self, symbol: &str, base: f64, at: DateTime<Utc>) -> (f64, DateTime<Utc>) {
        let at = minute_of(at);
        let at = match symbols::kind_of(symbol) {
            SymbolKind::Crypto => at,
            _ => at.min(calendar::session_close(calendar::current_session(at))),
        };
        let price = self
            .pinned
            .get(symbol)
            .copied()
            .unwrap_or_else(|| Self::price_at(symbol, base, at));
        (price, at)
    }

    fn volume(symbol: &str, at: DateTime<Utc>) -> i64 {
        1_000_000 + (seed(symbol, (at.timestamp() / 60) as u64) % 9_000_000) as i64
    }

    /// Quote at a given time (the trait's `quote` uses now).
    pub fn quote_at(&self, symbol: &str, at: DateTime<Utc>) -> Result<Quote, IntegrationError> {
        let (base, _) = Self::listing(symbol)?;
        let (price, observed_at) = self.observed(symbol, base, at);
        let previous_close = match symbols::kind_of(symbol) {
            // Crypto never closes: the reference is the price 24 hours before.
            SymbolKind::Crypto => Self::price_at(symbol, base, observed_at - Duration::days(1)),
            _ => {
                let session = calendar::current_session(observed_at);
                let previous = calendar::previous_trading_day(session);
                Self::price_at(symbol, base, calendar::session_close(previous))
            }
        };
        Ok(Quote {
            symbol: symbol.to_owned(),
            price,
            previous_close,
            volume: Self::volume(symbol, observed_at),
            at: observed_at,
        })
    }

    /// Daily bars of the `days` days up to `at`, oldest first; the last is the running session,
    /// at the same price a quote at `at` gives.
    pub fn history_at(
        &self,
        symbol: &str,
        days: u32,
        at: DateTime<Utc>,
    ) -> Result<Vec<PricePoint>, IntegrationError> {
        let (base, _) = Self::listing(symbol)?;
        let (last_price, last_at) = self.observed(symbol, base, at);
        let crypto = symbols::kind_of(symbol) == SymbolKind::Crypto;
        let today = last_at.date_naive();
        Ok((0..i64::from(days))
            .rev()
            .filter_map(|back| {
                let day = today - Duration::days(back);
                if !crypto && !calendar::is_trading_day(day) {
                    return None;
                }
                let close = if crypto {
                    day.and_hms_opt(23, 59, 0)?.and_utc()
                } else {
                    calendar::session_close(day)
                };
                if close >= last_at {
                    // The running (or just closed) session: the quote's own moment and price.
                    return (day == today).then(|| PricePoint {
                        at: last_at,
                        price: last_price,
                        volume: Self::volume(symbol, last_at),
                    });
                }
                Some(PricePoint {
                    at: close,
                    price: Self::price_at(symbol, base, close),
                    volume: Self::volume(symbol, close),
                })
            })
            .collect())
    }

    /// Option chain as of `today` for underlying price `spot`.
    pub fn chain_at(&self, symbol: &str, spot: f64, today: NaiveDate) -> Vec<OptionContract> {
        let sigma = Self::sigma(symbol);
        let step = match spot {
            s if s < 25.0 => 0.5,
            s if s < 100.0 => 1.0,
            s if s < 250.0 => 2.5,
            _ => 5.0,
        };
        let mut first_friday = today + Duration::days(1);
        while first_friday.weekday() != Weekday::Fri {
            first_friday += Duration::days(1);
        }
        // Weeklies expire on the Friday, or the trading day before when it is a holiday.
        let expiry_of = |week: i64| calendar::weekly_expiry(first_friday + Duration::weeks(week));
        let low = ((spot * 0.8) / step).floor() as i64;
        let high = ((spot * 1.2) / step).ceil() as i64;
        let mut chain = Vec::new();
        for week in 0..8 {
            let expiry = expiry_of(week);
            let years = (expiry - today).num_days().max(1) as f64 / 365.0;
            for k in low..=high {
                let strike = k as f64 * step;
                for kind in [OptionKind::Put, OptionKind::Call] {
                    let mid = black_scholes(kind, spot, strike, years, sigma).max(0.01);
                    chain.push(OptionContract {
                        kind,
                        strike,
                        expiry,
                        bid: round2((mid * 0.97).max(0.01)),
                        ask: round2(mid * 1.03 + 0.01),
                        delta: None,
                        implied_volatility: Some(sigma),
                    });
                }
            }
        }
        chain
    }
}

impl MarketData for SimulatedMarket {
    async fn quote(&self, symbol: &str) -> Result<Quote, IntegrationError> {
        self.quote_at(symbol, Utc::now())
    }

    async fn history(&self, symbol: &str, days: u32) -> Result<Vec<PricePoint>, IntegrationError> {
        self.history_at(symbol, days, Utc::now())
    }

    async fn options_chain(&self, symbol: &str) -> Result<Vec<OptionContract>, IntegrationError> {
        if symbols::kind_of(symbol) == SymbolKind::Crypto {
            return Err(IntegrationError::Rejected(format!(
                "no options are listed for {symbol}"
            )));
        }
        let quote = self.quote_at(symbol, Utc::now())?;
        Ok(self.chain_at(symbol, quote.price, quote.at.date_naive()))
    }
}

/// Black–Scholes price of a European option.
fn black_scholes(kind: OptionKind, spot: f64, strike: f64, years: f64, sigma: f64) -> f64 {
    let sqrt_t = years.sqrt();
    let d1 = ((spot / strike).ln() + (RATE + sigma * sigma / 2.0) * years) / (sigma * sqrt_t);
    let d2 = d1 - sigma * sqrt_t;
    let discount = (-RATE * years).exp();
    match kind {
        OptionKind::Call => spot * norm_cdf(d1) - strike * discount * norm_cdf(d2),
        OptionKind::Put => strike * discount * norm_cdf(-d2) - spot * norm_cdf(-d1),
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, error < 1.5e-7).
fn norm_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn prices_are_deterministic_and_plausible() {
        let m = SimulatedMarket::default();
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 15, 30, 0).unwrap();
        let a = m.quote_at("AAPL", at).unwrap();
        assert_eq!(a, m.quote_at("AAPL", at).unwrap());
        assert!((150.0..230.0).contains(&a.price), "{}", a.price);
        assert_eq!(
            m.quote_at("NOPE", at),
            Err(IntegrationError::UnknownSymbol("NOPE".into()))
        );
    }

    #[test]
    fn premiums_behave_like_options() {
        let m = SimulatedMarket::default();
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let chain = m.chain_at("AAPL", 190.0, today);
        let expiries: std::collections::BTreeSet<NaiveDate> = chain.iter().map(|c| c.expiry).collect();
        let put = |strike: f64, week: usize| {
            let expiry = *expiries.iter().nth(week).unwrap();
            chain
                .iter()
                .find(|c| c.kind == OptionKind::Put && c.strike == strike && c.expiry == expiry)
                .unwrap()
                .mid()
        };
        assert!(
            put(180.0, 4) < put(190.0, 4),
            "further out of the money is cheaper"
        );
        assert!(put(180.0, 1) < put(180.0, 4), "longer dated is dearer");
        assert!((1.0..8.0).contains(&put(180.0, 4)), "{}", put(180.0, 4));
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn quote_and_last_bar_agree_and_stocks_skip_closed_days() {
        let m = SimulatedMarket::default();
        // A Monday 2026-11-30 mid-session, a week after Thanksgiving.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 17, 30, 42).unwrap();
        let quote = m.quote_at("AAPL", at).unwrap();
        let bars = m.history_at("AAPL", 10, at).unwrap();
        let last = bars.last().unwrap();
        assert_eq!((last.price, last.at), (quote.price, quote.at));
        assert!(
            bars.iter().all(|b| calendar::is_trading_day(b.at.date_naive())),
            "{bars:?}"
        );
        let before = &bars[bars.len() - 2];
        assert_eq!(
            before.at,
            calendar::session_close(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap())
        );
        assert_eq!(
            quote.previous_close, before.price,
            "previous close is Friday's bar"
        );
        // Sunday: the price is Friday's close, the same in the quote and the last bar.
        let sunday = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap();
        let quote = m.quote_at("AAPL", sunday).unwrap();
        let bars = m.history_at("AAPL", 7, sunday).unwrap();
        assert_eq!(bars.last().unwrap().price, quote.price);
        assert_eq!(
            quote.at,
            calendar::session_close(NaiveDate::from_ymd_opt(2026, 11, 27).unwrap())
        );
        // Crypto trades every day.
        let btc = m.history_at("BTC-USDT", 7, sunday).unwrap();
        assert_eq!(btc.len(), 7);
        assert_eq!(
            btc.last().unwrap().price,
            m.quote_at("BTC-USDT", sunday).unwrap().price
        );
    }

    #[test]
    fn expiries_are_real_expiration_days() {
        let m = SimulatedMarket::default();
        // Over Christmas and New Year 2026: Fridays Dec 25 and Jan 1 are holidays.
        let chain = m.chain_at("AAPL", 190.0, NaiveDate::from_ymd_opt(2026, 12, 20).unwrap());
        let expiries: std::collections::BTreeSet<NaiveDate> = chain.iter().map(|c| c.expiry).collect();
        assert!(
            expiries.iter().all(|d| calendar::is_expiration_day(*d)),
            "{expiries:?}"
        );
        assert!(expiries.contains(&NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
        assert!(!expiries.contains(&NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
    }

    #[test]
    fn pinned_prices_win() {
        let m = SimulatedMarket::new([("AAPL".to_owned(), 250.0)].into());
        assert_eq!(m.quote_at("AAPL", Utc::now()).unwrap().price, 250.0);
    }
}
