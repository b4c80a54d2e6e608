//! Commands and their arguments: `/name args` → [`Command`], or the usage line to answer with.

use super::{alerts::Direction, text::usage};
use crate::integrations::symbols;

/// Longest period /history and /trend accept, in days.
const MAX_DAYS: u32 = 366;

/// A parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// /start
    Start,
    /// /help
    Help,
    /// /cancel or /stop
    Cancel,
    /// /status
    Status,
    /// /portfolio
    Portfolio,
    /// /price SYMBOL
    Price(String),
    /// /history SYMBOL PERIOD
    History(String, u32),
    /// /trend SYMBOL PERIOD
    Trend(String, u32),
    /// /compare A B C
    Compare(Vec<String>),
    /// /alert SYMBOL > PRICE
    Alert(String, Direction, f64),
    /// /alerts
    Alerts,
    /// /analyze [SYMBOL]
    Analyze(Option<String>),
    /// /buy SYMBOL QTY
    Buy(String, u32),
    /// /stats (operators only)
    Stats,
    /// Anything else.
    Unknown(String),
}

/// Parses `name` (lower case, no slash) and its `args`. `Err` is the usage line to send.
pub fn parse(name: &str, args: &str) -> Result<Command, &'static str> {
    let words: Vec<&str> = args.split_whitespace().collect();
    Ok(match name {
        // A deep link's payload (`t.me/bot?start=buy-AAPL-1`) picks up where a group left off.
        "start" => match words.as_slice() {
            [payload] => match payload.split('-').collect::<Vec<_>>().as_slice() {
                ["buy", s, q] => parse("buy", &format!("{s} {q}")).unwrap_or(Command::Start),
                ["analyze", s] => parse("analyze", s).unwrap_or(Command::Start),
                _ => Command::Start,
            },
            _ => Command::Start,
        },
        "stats" => Command::Stats,
        "help" => Command::Help,
        "cancel" | "stop" => Command::Cancel,
        "status" => Command::Status,
        "portfolio" => Command::Portfolio,
        "alerts" => Command::Alerts,
        "price" | "quote" => match words.as_slice() {
            [s] => Command::Price(symbol(s).ok_or(usage::PRICE)?),
            _ => return Err(usage::PRICE),
        },
        "history" | "trend" => {
            let usage = if name == "history" {
                usage::HISTORY
            } else {
                usage::TREND
            };
            let default_days = if name == "history" { 7 } else { 30 };
            let (s, days) = match words.as_slice() {
                [s] => (symbol(s).ok_or(usage)?, default_days),
                [s, p] => (symbol(s).ok_or(usage)?, period_days(p).ok_or(usage)?),
                _ => return Err(usage),
            };
            if name == "history" {
                Command::History(s, days)
            } else {
                Command::Trend(s, days)
            }
        }
        "compare" => {
            let symbols: Option<Vec<String>> = words.iter().map(|w| symbol(w.trim_matches(','))).collect();
            match symbols {
                Some(mut s) if (2..=5).contains(&s.len()) => {
                    s.dedup();
                    Command::Compare(s)
                }
                _ => return Err(usage::COMPARE),
            }
        }
        "alert" => parse_alert(args).ok_or(usage::ALERT)?,
        "analyze" | "analyse" | "analysis" => match words.as_slice() {
            [] => Command::Analyze(None),
            [s] => Command::Analyze(Some(symbol(s).ok_or(usage::ANALYZE)?)),
            _ => return Err(usage::ANALYZE),
        },
        "buy" => match words.as_slice() {
            [s, q] => {
                let qty = q
                    .parse::<u32>()
                    .ok()
                    .filter(|q| (1..=100_000).contains(q))
                    .ok_or(usage::BUY)?;
                Command::Buy(symbol(s).ok_or(usage::BUY)?, qty)
            }
            _ => return Err(usage::BUY),
        },
        other => Command::Unknown(other.to_owned()),
    })
}

/// A symbol in its one spelling, if it could be one: an upper-cased ticker (a leading `$` is
/// allowed: `$AAPL`), a crypto pair as `BASE-QUOTE` (`btc/usdt`, `btcusdt` → `BTC-USDT`).
pub fn symbol(s: &str) -> Option<String> {
    symbols::canonical(s)
}

/// `7d`, `2w`, `3m`, `1y`, or a bare number of days.
pub fn period_days(s: &str) -> Option<u32> {
    let s = s.trim().to_lowercase();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s.as_str(), "d"),
    };
    let n: u32 = digits.parse().ok()?;
    let days = match unit {
        "d" | "day" | "days" => n,
        "w" | "wk" | "week" | "weeks" => n.checked_mul(7)?,
        "m" | "mo" | "month" | "months" => n.checked_mul(30)?,
        "y" | "yr" | "year" | "years" => n.checked_mul(365)?,
        _ => return None,
    };
    (2..=MAX_DAYS).contains(&days).then_some(days)
}

/// `AAPL > 200`, `AAPL>200`, `AAPL above 200`, `AAPL < 150.5`.
fn parse_alert(args: &str) -> Option<Command> {
    let spaced = args
        .replace(">=", " > ")
        .replace("<=", " < ")
        .replace('>', " > ")
        .replace('<', " < ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let [s, op, price] = words.as_slice() else {
        return None;
    };
    let direction: Direction = op.to_lowercase().parse().ok()?;
    let price: f64 = price.trim_start_matches('$').replace(',', "").parse().ok()?;
    (price.is_finite() && price > 0.0).then_some(())?;
    Some(Command::Alert(symbol(s)?, direction, price))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_parse_or_give_usage() {
        assert_eq!(parse("price", "aapl"), Ok(Command::Price("AAPL".into())));
        assert_eq!(parse("price", ""), Err(usage::PRICE));
        assert_eq!(
            parse("history", "AAPL 7d"),
            Ok(Command::History("AAPL".into(), 7))
        );
        assert_eq!(parse("trend", "TSLA 3m"), Ok(Command::Trend("TSLA".into(), 90)));
        assert_eq!(parse("trend", "TSLA"), Ok(Command::Trend("TSLA".into(), 30)));
        assert_eq!(parse("history", "AAPL 7x"), Err(usage::HISTORY));
        assert_eq!(parse("history", "AAPL 99y"), Err(usage::HISTORY));
        assert_eq!(
            parse("compare", "AAPL MSFT NVDA"),
            Ok(Command::Compare(vec![
                "AAPL".into(),
                "MSFT".into(),
                "NVDA".into()
            ]))
        );
        assert_eq!(parse("compare", "AAPL"), Err(usage::COMPARE));
        assert_eq!(
            parse("alert", "AAPL > 200"),
            Ok(Command::Alert("AAPL".into(), Direction::Above, 200.0))
        );
        assert_eq!(
            parse("alert", "aapl<150.5"),
            Ok(Command::Alert("AAPL".into(), Direction::Below, 150.5))
        );
        assert_eq!(parse("alert", "AAPL 200"), Err(usage::ALERT));
        assert_eq!(parse("alert", "AAPL > -3"), Err(usage::ALERT));
        assert_eq!(parse("buy", "AAPL 10"), Ok(Command::Buy("AAPL".into(), 10)));
        assert_eq!(parse("buy", "AAPL ten"), Err(usage::BUY));
        assert_eq!(parse("frobnicate", ""), Ok(Command::Unknown("frobnicate".into())));
        assert_eq!(parse("start", "buy-AAPL-1"), Ok(Command::Buy("AAPL".into(), 1)));
        assert_eq!(
            parse("start", "analyze-MSFT"),
            Ok(Command::Analyze(Some("MSFT".into())))
        );
        assert_eq!(parse("start", "buy-AAPL-x"), Ok(Command::Start));
        assert_eq!(parse("start", ""), Ok(Command::Start));
    }
}
