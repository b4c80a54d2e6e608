//! Words as the intent parser sees them: tokens with their case, numbers, known tickers and
//! company names, and typo tolerance (edit distance) for keywords and symbols.

use crate::integrations::is_plausible_symbol;

/// What one word of a message is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A word of AVA's vocabulary (keyword or filler), lower case, typos corrected.
    Word(String),
    /// A number: `150`, `110,000`, `110k`, `$150.5`, `ten`. `dollar` marks a `$` prefix.
    Num { value: f64, dollar: bool },
    /// `>` or `<`.
    Cmp(char),
    /// A date `2026-12-18`.
    Date(chrono::NaiveDate),
    /// A ticker, upper case, as the market names it (`AAPL`, `BTC-USDT`).
    Sym(String),
    /// A word close to a ticker or a company name: `typed`, and the ticker meant.
    Guess { typed: String, symbol: String },
    /// Anything else, lower case.
    Other(String),
}

/// Tickers AVA knows by name, and the names people use for them (lower case).
const NAMES: &[(&str, &str)] = &[
    ("apple", "AAPL"),
    ("microsoft", "MSFT"),
    ("nvidia", "NVDA"),
    ("tesla", "TSLA"),
    ("amazon", "AMZN"),
    ("google", "GOOGL"),
    ("alphabet", "GOOGL"),
    ("meta", "META"),
    ("facebook", "META"),
    ("netflix", "NFLX"),
    ("intel", "INTC"),
    ("boeing", "BA"),
    ("disney", "DIS"),
    ("coinbase", "COIN"),
    ("palantir", "PLTR"),
    ("ford", "F"),
    ("jpmorgan", "JPM"),
    ("coke", "KO"),
    ("cocacola", "KO"),
    ("coca-cola", "KO"),
    ("bitcoin", "BTC-USDT"),
    ("btc", "BTC-USDT"),
    ("ethereum", "ETH-USDT"),
    ("ether", "ETH-USDT"),
    ("eth", "ETH-USDT"),
    ("solana", "SOL-USDT"),
    ("sol", "SOL-USDT"),
    ("dogecoin", "DOGE-USDT"),
    ("doge", "DOGE-USDT"),
    ("xrp", "XRP-USDT"),
];

/// Tickers AVA knows (the simulated market's listings and the crypto pairs above).
#[rustfmt::skip]
pub(crate) const TICKERS: &[&str] = &[
    "AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "GOOGL", "META", "AMD", "NFLX", "SPY", "QQQ", "IWM",
    "JPM", "KO", "DIS", "INTC", "BA", "COIN", "PLTR", "F", "BTC-USDT", "ETH-USDT", "SOL-USDT",
    "DOGE-USDT", "XRP-USDT",
];

/// Tickers that are also English words or too short: recognised only typed in capitals or with `$`.
const CAPITALS_ONLY: &[&str] = &["F", "KO", "DIS", "BA"];

/// Capitalised words that are not tickers ("I", "OK", "ETF"…).
const NOT_TICKERS: &[&str] = &[
    "I", "A", "OK", "AM", "PM", "CEO", "USA", "US", "ETF", "IPO", "ATH", "PNL", "USD", "EUR", "DCA", "YTD",
    "LOL", "PLS", "PLZ", "ASAP", "FYI", "BTW", "IMO", "TY", "THX", "AVA", "OTM", "ITM", "ATM", "P", "C",
];

/// AVA's keywords: typos of these are corrected (one edit, two for long words).
#[rustfmt::skip]
pub(crate) const KEYWORDS: &[&str] = &[
    "price", "prices", "quote", "analyze", "analyse", "analysis", "history", "trend", "trending",
    "performance", "chart", "compare", "comparison", "versus", "alert", "alerts", "notify",
    "portfolio", "positions", "holdings", "balance", "account", "cancel", "nevermind", "help",
    "status", "buy", "purchase", "sell", "write", "covered", "call", "calls", "put", "puts",
    "shares", "share", "contract", "contracts", "expiring", "expiry", "strike", "above", "below",
    "under", "over", "drops", "falls", "rises", "goes", "climbs", "exceeds", "crosses", "strategy",
    "options", "wheel", "secured", "think", "opinion", "thoughts", "trading", "worth", "doing",
    "days", "weeks", "months", "week", "month", "year", "remind", "message", "know", "tell", "when",
    "stop", "abort", "forget", "mind", "delete",
];

/// Filler and grammar words: known, never a ticker, never corrected.
#[rustfmt::skip]
pub(crate) const FILLER: &[&str] = &[
    "a", "an", "the", "of", "on", "for", "to", "in", "at", "is", "are", "was", "be", "me", "my",
    "i", "im", "you", "your", "it", "its", "and", "or", "but", "if", "so", "do", "does", "did",
    "can", "could", "would", "will", "should", "please", "pls", "plz", "hey", "hi", "hello", "ava",
    "ok", "okay", "now", "today", "what", "whats", "how", "hows", "whos", "where", "wheres",
    "which", "why", "who", "this", "that", "these", "those", "some", "any", "want", "wanna", "like",
    "id", "lets", "let", "go", "ahead", "get", "show", "give", "see", "check", "look", "up",
    "about", "with", "from", "by", "as", "than", "more", "less", "higher", "lower", "last", "past",
    "latest", "current", "currently", "just", "also", "then", "up", "down", "new", "set", "make",
    "create", "add", "list", "all", "am", "we", "us", "our", "much", "many", "much", "x", "per",
    "each", "too", "very", "really", "again", "quick", "quickly", "thanks", "thank", "thx", "there",
    "here", "not", "dont", "never", "no", "yes", "hit", "hits", "reach", "reaches", "gets", "falls",
    "drop", "fall", "rise", "rises", "dips", "dip", "goes", "moves", "market", "stock", "stocks",
    "ticker", "coin", "crypto", "money", "cash", "good", "bad", "time", "day", "bought", "sold",
    "car", "house", "said", "friend", "tomorrow", "yesterday", "put", "side", "vs", "exp",
    "expires", "expire", "cc", "csp", "p", "c", "pnl", "one", "two", "three", "run", "pull",
    "fetch", "need", "send", "try", "find", "out", "full", "deep", "quick",
];

/// Number words people type for small quantities.
const NUMBER_WORDS: &[(&str, f64)] = &[
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("twenty", 20.0),
    ("fifty", 50.0),
    ("hundred", 100.0),
];

/// Edit distance with adjacent transpositions (optimal string alignment): "pirce" → "price" is 1.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Edits a typo of a word this long may have: none below 4 letters, where everything is near.
fn allowed_edits(len: usize) -> usize {
    match len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The single nearest candidate within the allowed edits; `None` when none, or two tie.
fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let max = allowed_edits(word.chars().count());
    if max == 0 {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    let mut tie = false;
    for c in candidates {
        let d = distance(word, c);
        if d == 0 || d > max {
            continue;
        }
        match best {
            Some((bd, _)) if d > bd => {}
            Some((bd, b)) if d == bd => tie |= b != c,
            _ => {
                best = Some((d, c));
                tie = false;
            }
        }
    }
    (!tie).then_some(best?.1)
}

/// The known ticker nearest to `typed` (a misspelt ticker or company name), for "Did you mean…?".
/// `None` when nothing is near, or two different tickers are equally near.
pub fn suggest_symbol(typed: &str) -> Option<String> {
    let low = typed.trim().trim_start_matches('$').to_lowercase();
    let max = allowed_edits(low.chars().count());
    let names = NAMES.iter().map(|(n, s)| ((*n).to_owned(), *s));
    let tickers = TICKERS.iter().map(|t| (t.to_lowercase(), *t));
    let mut best: Option<(usize, &str)> = None;
    let mut tie = false;
    for (name, symbol) in names.chain(tickers).filter(|(n, _)| n.len() >= 4) {
        let d = distance(&low, &name);
        if d == 0 || d > max {
            continue;
        }
        match best {
            Some((bd, _)) if d > bd => {}
            Some((bd, b)) if d == bd => tie |= b != symbol,
            _ => {
                best = Some((d, symbol));
                tie = false;
            }
        }
    }
    (!tie).then(|| best.map(|(_, s)| s.to_owned()))?
}

/// The ticker a lower-case word names exactly: a ticker, a company name or a crypto pair.
fn lookup(low: &str) -> Option<String> {
    if let Some((_, s)) = NAMES.iter().find(|(n, _)| *n == low) {
        return Some((*s).to_owned());
    }
    if let Some(t) = TICKERS
        .iter()
        .find(|t| t.eq_ignore_ascii_case(low) && !CAPITALS_ONLY.contains(t))
    {
        return Some((*t).to_owned());
    }
    // Crypto pairs: btc-usdt, btc/usdt, btcusdt, btc-usd.
    let base = low
        .strip_suffix("usdt")
        .or_else(|| low.strip_suffix("usd"))
        .map(|b| b.trim_end_matches(['-', '/']))?;
    let pair = format!("{}-USDT", base.to_uppercase());
    let known = TICKERS.contains(&pair.as_str());
    let spelled = low.contains(['-', '/']) && (2..=5).contains(&base.len());
    (known || spelled && base.chars().all(|c| c.is_ascii_alphabetic())).then_some(pair)
}

fn is_vocabulary(low: &str) -> bool {
    KEYWORDS.contains(&low) || FILLER.contains(&low)
}

fn number(low: &str) -> Option<Tok> {
    if let Some((_, v)) = NUMBER_WORDS.iter().find(|(w, _)| *w == low) {
        return Some(Tok::Num {
            value: *v,
            dollar: false,
        });
    }
    let dollar = low.starts_with('$');
    let s = low.trim_start_matches('$').replace(',', "");
    let (digits, scale) = match s.strip_suffix('k') {
        Some(d) => (d, 1_000.0),
        None => (s.as_str(), 1.0),
    };
    if !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let value: f64 = digits.parse().ok()?;
    (value.is_finite()).then_some(Tok::Num {
        value: value * scale,
        dollar,
    })
}

/// Splits a message into tokens: emoji and punctuation dropped, `>`/`<` split off, typos mended.
pub(crate) fn tokens(text: &str) -> Vec<Tok> {
    let mut spaced = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '>' | '<' => {
                spaced.push(' ');
                spaced.push(c);
                spaced.push(' ');
            }
            // Apostrophes join: "how's" → "hows", "I'd" → "Id".
            '\'' | '’' => {}
            '&' => spaced.push_str(" and "),
            c if c.is_ascii_alphanumeric() || matches!(c, '$' | '.' | ',' | '-' | '/') => spaced.push(c),
            _ => spaced.push(' '),
        }
    }
    spaced
        .split_whitespace()
        .filter_map(|w| {
            let w = w.trim_matches(|c: char| matches!(c, '.' | ',' | '-' | '/'));
            (!w.is_empty()).then(|| token(w))
        })
        .collect()
}

fn token(raw: &str) -> Tok {
    let low = raw.to_lowercase();
    if raw == ">" || raw == "<" {
        return Tok::Cmp(raw.chars().next().unwrap_or('>'));
    }
    if let Some(n) = number(&low) {
        return n;
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(&low, "%Y-%m-%d") {
        return Tok::Date(date);
    }
    let dollar = raw.starts_with('$');
    let bare = raw.trim_start_matches('$');
    let capitals = bare.len() > 1 && bare.chars().all(|c| !c.is_ascii_lowercase()) || bare == "F";
    let upper = bare.to_uppercase();
    if (dollar || capitals) && TICKERS.contains(&upper.as_str()) {
        return Tok::Sym(upper);
    }
    if dollar || capitals && !NOT_TICKERS.contains(&bare) && !is_vocabulary(&low) {
        if let Some(s) = lookup(&low) {
            return Tok::Sym(s);
        }
        if let Some(s) = suggest_symbol(bare) {
            return Tok::Guess {
                typed: upper,
                symbol: s,
            };
        }
        if is_plausible_symbol(&upper) {
            return Tok::Sym(upper);
        }
    }
    if is_vocabulary(&low) {
        return Tok::Word(low);
    }
    if let Some(s) = lookup(&low) {
        return Tok::Sym(s);
    }
    if let Some(k) = nearest(&low, KEYWORDS.iter().copied()) {
        return Tok::Word(k.to_owned());
    }
    if let Some(s) = suggest_symbol(&low) {
        return Tok::Guess {
            typed: low,
            symbol: s,
        };
    }
    Tok::Other(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_transpositions_as_one_edit() {
        assert_eq!(distance("pirce", "price"), 1);
        assert_eq!(distance("nvdia", "nvda"), 1);
        assert_eq!(distance("aapl", "aapl"), 0);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("portfolo", "portfolio"), 1);
    }

    #[test]
    fn symbols_are_found_by_ticker_name_and_pair() {
        assert_eq!(token("aapl"), Tok::Sym("AAPL".into()));
        assert_eq!(token("Apple"), Tok::Sym("AAPL".into()));
        assert_eq!(token("btc"), Tok::Sym("BTC-USDT".into()));
        assert_eq!(token("BTC/USDT"), Tok::Sym("BTC-USDT".into()));
        assert_eq!(token("btcusdt"), Tok::Sym("BTC-USDT".into()));
        assert_eq!(token("$ko"), Tok::Sym("KO".into()));
        assert_eq!(token("XYZ"), Tok::Sym("XYZ".into()));
        assert_eq!(token("ko"), Tok::Other("ko".into()));
        assert_eq!(
            token("NVDIA"),
            Tok::Guess {
                typed: "NVDIA".into(),
                symbol: "NVDA".into()
            }
        );
        assert_eq!(token("pirce"), Tok::Word("price".into()));
        assert_eq!(suggest_symbol("tesal"), Some("TSLA".into()));
        assert_eq!(suggest_symbol("IBM"), None);
    }
}
