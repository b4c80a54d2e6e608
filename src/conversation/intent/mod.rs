//! Free text → the same intents the commands express, without a language model: keywords with
//! typo tolerance, tickers by symbol or company name, numbers, directions and periods.
//!
//! The parser is deliberately strict about trades: a trade verb must open the request (after
//! "please", "can you", "I want to"…) and every other word must belong to an order, so "I bought a
//! car" or "should I buy AAPL?" never become one. Every trade still ends in the same preview, risk
//! checks and explicit Yes as /buy.

mod classify;
mod words;

#[cfg(test)]
pub(crate) mod phrasings;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use classify::parse;
pub(crate) use words::distance;
pub use words::suggest_symbol;

use super::commands::Command;
use crate::integrations::{OptionKind, Side};

/// A trade asked for in words; what it lacks is asked for by the guided flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeAsk {
    /// Underlying, upper case.
    pub symbol: String,
    /// Buy or sell (to open).
    pub side: Side,
    /// `None`: shares; otherwise a put or a call.
    pub option: Option<OptionKind>,
    /// Shares or contracts.
    pub quantity: Option<u32>,
    /// Strike, for an option.
    pub strike: Option<f64>,
    /// Expiry, for an option.
    pub expiry: Option<NaiveDate>,
}

/// What a message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Intent {
    /// Exactly what a command would do.
    Command(Command),
    /// A trade a command cannot express (options, a sale, a missing quantity).
    Trade(TradeAsk),
}

/// A parsed message: the intent, and the tickers it had to guess from typos.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// What was asked, with guessed tickers already in place.
    pub intent: Intent,
    /// (what was typed, the ticker guessed), for "Did you mean…?".
    pub guessed: Vec<(String, String)>,
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

impl Intent {
    /// A canonical phrase that parses back to this intent, e.g. `alert BTC-USDT > 110000`. It
    /// travels in "Did you mean…?" buttons, so it stays short.
    pub fn phrase(&self) -> String {
        match self {
            Intent::Command(c) => match c {
                Command::Start => "start".into(),
                Command::Help => "help".into(),
                Command::Cancel => "cancel".into(),
                Command::Status => "status".into(),
                Command::Portfolio => "portfolio".into(),
                Command::Alerts => "alerts".into(),
                Command::Price(s) => format!("price {s}"),
                Command::History(s, d) => format!("history {s} {d} days"),
                Command::Trend(s, d) => format!("trend {s} {d} days"),
                Command::Compare(v) => format!("compare {}", v.join(" ")),
                Command::Alert(s, dir, p) => format!("alert {s} {} {}", dir.symbol(), num(*p)),
                Command::Analyze(None) => "analyze".into(),
                Command::Analyze(Some(s)) => format!("analyze {s}"),
                Command::Buy(s, q) => format!("buy {q} {s}"),
                Command::Stats => "/stats".into(),
                Command::Unknown(n) => format!("/{n}"),
            },
            Intent::Trade(t) => {
                let mut words = vec![match t.side {
                    Side::Buy => "buy".to_owned(),
                    Side::Sell => "sell".to_owned(),
                }];
                if let Some(q) = t.quantity {
                    words.push(q.to_string());
                }
                words.push(t.symbol.clone());
                if let Some(e) = t.expiry {
                    words.push(e.to_string());
                }
                if let Some(k) = t.strike {
                    words.push(format!("${}", num(k)));
                }
                match t.option {
                    Some(OptionKind::Put) => words.push("put".into()),
                    Some(OptionKind::Call) => words.push("call".into()),
                    None => {}
                }
                words.join(" ")
            }
        }
    }
}
