//! From tokens to an intent: one rule per intent, tried from the most specific to the loosest.

use super::{
    Intent, Parsed, TradeAsk,
    words::{Tok, tokens},
};
use crate::{
    conversation::{alerts::Direction, commands::Command, commands::period_days},
    integrations::{OptionKind, Side},
};

/// Words that may open a request before its verb: "please", "can you", "I'd like to"…
const OPENERS: &[&str] = &[
    "please", "pls", "plz", "hey", "hi", "hello", "ok", "okay", "ava", "so", "can", "could", "would", "will",
    "you", "i", "want", "wanna", "to", "like", "id", "lets", "let", "go", "ahead", "and", "me", "just",
    "now",
];

/// Keywords after which an unknown short word is taken for a ticker (never trade verbs: "buy a
/// car" must not buy CAR).
const SLOT_KEYWORDS: &[&str] = &[
    "price", "prices", "quote", "analyze", "analyse", "analysis", "history", "trend", "chart", "compare",
];

/// Words a trade request may contain besides numbers, dates and its ticker.
#[rustfmt::skip]
const ORDER_WORDS: &[&str] = &[
    "a", "an", "the", "some", "of", "on", "for", "x", "shares", "share", "contract", "contracts",
    "put", "puts", "call", "calls", "covered", "cash", "secured", "csp", "cc", "strike", "at",
    "expiring", "expiry", "exp", "expires", "please", "now", "today", "me", "market", "stock",
    "stocks", "p", "c", "one", "in", "with", "jan", "january", "feb", "february", "mar", "march",
    "apr", "april", "may", "jun", "june", "jul", "july", "aug", "august", "sep", "sept",
    "september", "oct", "october", "nov", "november", "dec", "december", "option", "options",
];

const ABOVE: &[&str] = &[
    "above", "over", "exceeds", "exceed", "crosses", "rises", "rise", "climbs", "breaks", "higher", "more",
    ">",
];
const BELOW: &[&str] = &[
    "below", "under", "drops", "drop", "falls", "fall", "dips", "dip", "sinks", "lower", "less", "<",
];
const ALERT_WORDS: &[&str] = &[
    "alert", "notify", "tell", "know", "ping", "warn", "remind", "message", "watch",
];

/// The message as words: keywords, fillers and others by their lower-case text.
struct Msg {
    toks: Vec<Tok>,
    line: String,
    symbols: Vec<String>,
    guessed: Vec<(String, String)>,
    question: bool,
}

fn text_of(t: &Tok) -> String {
    match t {
        Tok::Word(w) | Tok::Other(w) => w.clone(),
        Tok::Cmp(c) => c.to_string(),
        Tok::Num { .. } => "#".into(),
        Tok::Date(_) => "@".into(),
        Tok::Sym(_) | Tok::Guess { .. } => "$".into(),
    }
}

impl Msg {
    fn new(text: &str) -> Self {
        let toks = tokens(text);
        let mut symbols = Vec::new();
        let mut guessed = Vec::new();
        for t in &toks {
            let s = match t {
                Tok::Sym(s) => s,
                Tok::Guess { typed, symbol } => {
                    guessed.push((typed.clone(), symbol.clone()));
                    symbol
                }
                _ => continue,
            };
            if !symbols.contains(s) {
                symbols.push(s.clone());
            }
        }
        let mut toks = toks;
        if symbols.is_empty() {
            // "price of ibm": after a keyword that takes a ticker, an unknown short word is one.
            let keyword = toks
                .iter()
                .any(|t| matches!(t, Tok::Word(w) if SLOT_KEYWORDS.contains(&w.as_str())));
            let slot = toks.iter_mut().find(|t| {
                matches!(t, Tok::Other(w) if (2..=5).contains(&w.len()) && w.chars().all(|c| c.is_ascii_alphabetic()))
            });
            if let (true, Some(slot)) = (keyword, slot) {
                let Tok::Other(w) = slot else { unreachable!() };
                let symbol = w.to_uppercase();
                symbols.push(symbol.clone());
                *slot = Tok::Sym(symbol);
            }
        }
        let line = format!(" {} ", toks.iter().map(text_of).collect::<Vec<_>>().join(" "));
        Self {
            toks,
            line,
            symbols,
            guessed,
            question: text.contains('?'),
        }
    }

    fn has(&self, word: &str) -> bool {
        self.line.contains(&format!(" {word} "))
    }

    fn any(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.has(w))
    }

    fn one_symbol(&self) -> Option<String> {
        match self.symbols.as_slice() {
            [s] => Some(s.clone()),
            _ => None,
        }
    }

    fn numbers(&self) -> impl Iterator<Item = f64> + '_ {
        self.toks.iter().filter_map(|t| match t {
            Tok::Num { value, .. } => Some(*value),
            _ => None,
        })
    }
}

/// The intent of `text`, or `None` when the parser cannot place it.
pub fn parse(text: &str) -> Option<Parsed> {
    let msg = Msg::new(text);
    if msg.toks.is_empty() {
        return None;
    }
    let intent = cancel(&msg)
        .or_else(|| trade(&msg))
        .or_else(|| alert(&msg))
        .or_else(|| simple(&msg))
        .or_else(|| compare(&msg))
        .or_else(|| series(&msg))
        .or_else(|| analyse(&msg))
        .or_else(|| price(&msg))?;
    Some(Parsed {
        intent,
        guessed: msg.guessed,
    })
}

fn cancel(msg: &Msg) -> Option<Intent> {
    const STOP: &[&str] = &[
        "stop",
        "cancel",
        "abort",
        "nevermind",
        "nvm",
        "quit",
        "exit",
        "forget",
        "mind",
        "never",
        "enough",
    ];
    const FILL: &[&str] = &[
        "please", "ok", "okay", "just", "it", "that", "this", "ava", "hey", "the", "now", "all",
    ];
    let words: Vec<String> = msg.toks.iter().map(text_of).collect();
    let stops = words.iter().filter(|w| STOP.contains(&w.as_str())).count();
    let rest_ok = words
        .iter()
        .all(|w| STOP.contains(&w.as_str()) || FILL.contains(&w.as_str()));
    (stops > 0 && rest_ok && words.len() <= 5).then_some(Intent::Command(Command::Cancel))
}

fn trade(msg: &Msg) -> Option<Intent> {
    let mut toks = msg
        .toks
        .iter()
        .skip_while(|t| matches!(t, Tok::Word(w) | Tok::Other(w) if OPENERS.contains(&w.as_str())));
    let side = match toks.next()? {
        Tok::Word(w) if w == "buy" || w == "purchase" => Side::Buy,
        Tok::Word(w) if w == "sell" || w == "write" => Side::Sell,
        _ => return None,
    };
    let rest: Vec<&Tok> = toks.collect();
    if !rest.iter().all(|t| match t {
        Tok::Word(w) | Tok::Other(w) => ORDER_WORDS.contains(&w.as_str()),
        _ => true,
    }) {
        return None;
    }
    let symbol = msg.one_symbol()?;
    let word_at = |i: usize| match rest.get(i) {
        Some(Tok::Word(w) | Tok::Other(w)) => w.as_str(),
        _ => "",
    };
    let covered = msg.has("covered") || msg.has("cc");
    let secured = msg.has("secured") || msg.has("csp");
    let option = if msg.any(&["put", "puts", "p"]) || secured {
        Some(OptionKind::Put)
    } else if msg.any(&["call", "calls", "c"]) || covered {
        Some(OptionKind::Call)
    } else {
        None
    };
    if (covered || secured) && side == Side::Buy {
        return None;
    }
    let symbol_at = rest
        .iter()
        .position(|t| matches!(t, Tok::Sym(_) | Tok::Guess { .. }))?;
    let (mut quantity, mut strike, mut expiry) = (None, None, None);
    for (i, t) in rest.iter().enumerate() {
        match t {
            Tok::Date(d) => expiry = Some(*d),
            Tok::Num { value, dollar } => {
                let next = word_at(i + 1);
                let prev = if i > 0 { word_at(i - 1) } else { "" };
                let labelled_strike = *dollar
                    || prev == "at"
                    || prev == "strike"
                    || matches!(next, "put" | "puts" | "call" | "calls" | "strike" | "p" | "c");
                let labelled_quantity = matches!(next, "shares" | "share" | "contracts" | "contract" | "x");
                if labelled_quantity || (!labelled_strike && (i < symbol_at || option.is_none())) {
                    if quantity.is_some() {
                        return None;
                    }
                    let q = (value.fract() == 0.0 && (1.0..=100_000.0).contains(value))
                        .then_some(*value as u32)?;
                    quantity = Some(q);
                } else {
                    // A stock order names no price here: its preview prices it at the market.
                    if option.is_none() || strike.is_some() || *value <= 0.0 {
                        return None;
                    }
                    strike = Some(*value);
                }
            }
            // "sell a put": one contract.
            Tok::Word(w) | Tok::Other(w)
                if matches!(w.as_str(), "a" | "an")
                    && [word_at(i + 1), word_at(i + 2)].iter().any(|n| {
                        matches!(*n, "put" | "call" | "covered" | "cash" | "share" | "cc" | "csp")
                    }) =>
            {
                quantity = quantity.or(Some(1));
            }
            _ => {}
        }
    }
    if option.is_none()
        && side == Side::Buy
        && let Some(q) = quantity
    {
        return Some(Intent::Command(Command::Buy(symbol, q)));
    }
    Some(Intent::Trade(TradeAsk {
        symbol,
        side,
        option,
        quantity,
        strike,
        expiry,
    }))
}

fn direction(msg: &Msg) -> Option<Direction> {
    match (msg.any(ABOVE), msg.any(BELOW)) {
        (true, false) => Some(Direction::Above),
        (false, true) => Some(Direction::Below),
        _ => None,
    }
}

fn alert(msg: &Msg) -> Option<Intent> {
    let comparator = msg.toks.iter().any(|t| matches!(t, Tok::Cmp(_)));
    if !comparator && !msg.any(ALERT_WORDS) {
        return None;
    }
    let symbol = msg.one_symbol()?;
    let price = msg.numbers().last()?;
    let direction = direction(msg)?;
    (price.is_finite() && price > 0.0).then_some(Intent::Command(Command::Alert(symbol, direction, price)))
}

fn simple(msg: &Msg) -> Option<Intent> {
    let command = if msg.any(&["alert", "alerts"]) && msg.symbols.is_empty() {
        Command::Alerts
    } else if msg.any(&["portfolio", "positions", "holdings", "balance", "account", "pnl"])
        || msg.line.contains(" how am i doing ")
        || msg.line.contains(" how are my ")
        || msg.line.contains(" what do i own ")
        || msg.line.contains(" what do i have ")
        || msg.line.contains(" buying power ")
    {
        Command::Portfolio
    } else if msg.has("help") || msg.line.contains(" what can you do ") || msg.has("commands") {
        Command::Help
    } else if msg.symbols.is_empty() && (msg.has("menu") || msg.has("start")) {
        Command::Start
    } else if msg.symbols.is_empty() && msg.has("status") {
        Command::Status
    } else {
        return None;
    };
    Some(Intent::Command(command))
}

fn compare(msg: &Msg) -> Option<Intent> {
    let asked = msg.any(&["compare", "comparison", "versus", "vs", "against"]);
    (asked && (2..=5).contains(&msg.symbols.len()))
        .then(|| Intent::Command(Command::Compare(msg.symbols.clone())))
}

/// The period a message names: `30 days`, `30d`, `3 months`, `last week`; `Some(None)` when none.
fn period(msg: &Msg) -> Option<Option<u32>> {
    let words: Vec<String> = msg.toks.iter().map(text_of).collect();
    for (i, t) in msg.toks.iter().enumerate() {
        let unit = |w: &str| words.get(i + 1).is_some_and(|n| n == w);
        match t {
            Tok::Num { value, .. } if value.fract() == 0.0 && *value >= 1.0 => {
                let n = *value as u32;
                let days = if unit("days") || unit("day") || unit("d") {
                    n
                } else if unit("weeks") || unit("week") || unit("w") {
                    n * 7
                } else if unit("months") || unit("month") || unit("m") {
                    n * 30
                } else if unit("years") || unit("year") || unit("y") {
                    n * 365
                } else {
                    continue;
                };
                return period_days(&days.to_string()).map(Some);
            }
            Tok::Other(w) if w.starts_with(|c: char| c.is_ascii_digit()) => {
                return period_days(w).map(Some);
            }
            Tok::Word(w)
                if matches!(
                    words.get(i.wrapping_sub(1)).map(String::as_str),
                    Some("last" | "past" | "this")
                ) =>
            {
                match w.as_str() {
                    "week" => return Some(Some(7)),
                    "month" => return Some(Some(30)),
                    "year" => return Some(Some(365)),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Some(None)
}

fn series(msg: &Msg) -> Option<Intent> {
    let trend = msg.any(&["trend", "trending", "performance", "chart"]);
    let history = msg.any(&["history", "historical", "prices"]);
    let days = period(msg)?;
    if !trend && !history && days.is_none() {
        return None;
    }
    let symbol = msg.one_symbol()?;
    Some(Intent::Command(if trend {
        Command::Trend(symbol, days.unwrap_or(30))
    } else {
        Command::History(symbol, days.unwrap_or(7))
    }))
}

fn analyse(msg: &Msg) -> Option<Intent> {
    let asked = msg.any(&[
        "analyze", "analyse", "analysis", "think", "opinion", "thoughts", "options", "strategy", "wheel",
        "covered", "csp",
    ]) || msg.line.contains(" should i ")
        || msg.line.contains(" good buy ");
    if !asked || msg.symbols.len() > 1 {
        return None;
    }
    Some(Intent::Command(Command::Analyze(msg.one_symbol())))
}

fn price(msg: &Msg) -> Option<Intent> {
    let symbol = msg.one_symbol()?;
    let asked = msg.any(&[
        "price", "prices", "quote", "worth", "cost", "trading", "doing", "hows", "whats", "wheres", "at",
    ]) || msg.line.contains(" how is ")
        || msg.question;
    // A bare ticker ("AAPL", "apple 🍏") asks for its price.
    let bare = msg
        .toks
        .iter()
        .all(|t| matches!(t, Tok::Sym(_) | Tok::Guess { .. }) || matches!(t, Tok::Word(w) if w == "the"));
    (asked || bare).then_some(Intent::Command(Command::Price(symbol)))
}
