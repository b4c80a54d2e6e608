//! What a symbol names — a stock, an option contract (OCC symbol) or a crypto pair — and its one
//! canonical spelling, so `BTC-USDT`, `BTC/USDT` and `btcusdt` are the same pair everywhere
//! (cache keys, alerts, price history).

use chrono::NaiveDate;

use super::OptionKind;

/// Quote assets a crypto pair may end in, longest first so `BTCUSDT` splits as `BTC`+`USDT`.
const QUOTE_ASSETS: &[&str] = &[
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "DAI", "USD", "EUR", "BTC", "ETH", "BNB",
];

/// Quote asset of a bare crypto base (`BTC` → `BTC-USDT`).
pub const DEFAULT_QUOTE_ASSET: &str = "USDT";

/// Bases that a bare symbol means as crypto when a crypto provider is configured. Stock tickers
/// that collide (none of these is a listed US ticker AVA's users trade) lose to crypto only then.
const CRYPTO_BASES: &[&str] = &[
    "BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "DOT", "LINK", "LTC", "TRX", "SHIB", "TON",
    "MATIC", "POL", "ATOM", "UNI", "XLM", "NEAR", "APT", "ARB", "OP", "SUI", "PEPE", "BCH", "ETC", "FIL",
];

/// The kind of thing a symbol names; the router picks a provider by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// A listed share or ETF.
    Stock,
    /// An option contract in OCC form, e.g. `AAPL261218P00190000`.
    Option,
    /// A crypto pair, canonically `BASE-QUOTE`.
    Crypto,
}

/// The kind of a canonical symbol (as [`canonical`] spells it).
pub fn kind_of(symbol: &str) -> SymbolKind {
    if split_pair(symbol).is_some() {
        SymbolKind::Crypto
    } else if parse_occ(symbol).is_some() {
        SymbolKind::Option
    } else {
        SymbolKind::Stock
    }
}

/// `BASE-QUOTE` split in two, if `symbol` is a canonical pair.
pub fn split_pair(symbol: &str) -> Option<(&str, &str)> {
    let (base, quote) = symbol.split_once('-')?;
    (QUOTE_ASSETS.contains(&quote) && is_asset(base)).then_some((base, quote))
}

/// Whether a bare base (`BTC`) is a crypto asset AVA knows.
pub fn is_crypto_base(symbol: &str) -> bool {
    CRYPTO_BASES.contains(&symbol)
}

/// `BTC` → `BTC-USDT` for a known crypto base; anything else unchanged.
pub fn as_crypto_pair(symbol: &str) -> Option<String> {
    if split_pair(symbol).is_some() {
        Some(symbol.to_owned())
    } else {
        is_crypto_base(symbol).then(|| format!("{symbol}-{DEFAULT_QUOTE_ASSET}"))
    }
}

fn is_asset(s: &str) -> bool {
    (2..=10).contains(&s.len()) && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The canonical spelling of what a user typed, or `None` when it cannot be a symbol at all:
/// stock tickers upper-cased (`aapl` → `AAPL`, `$AAPL` allowed), crypto pairs as `BASE-QUOTE`
/// (`btc/usdt`, `BTC-USDT`, `btcusdt` → `BTC-USDT`), OCC option symbols upper-cased.
pub fn canonical(input: &str) -> Option<String> {
    let s = input.trim().trim_start_matches('$').to_uppercase();
    if let Some((base, quote)) = s.split_once(['/', '-', '_'])
        && QUOTE_ASSETS.contains(&quote)
        && is_asset(base)
    {
        return Some(format!("{base}-{quote}"));
    }
    if !is_plausible_stock(&s) {
        if parse_occ(&s).is_some() {
            return Some(s);
        }
        // `BTCUSDT`: a glued pair, recognised only by a known quote asset and a known base, so a
        // long stock-like word is not split by accident.
        return QUOTE_ASSETS.iter().find_map(|quote| {
            let base = s.strip_suffix(quote)?;
            (is_crypto_base(base) || (is_asset(base) && base.len() >= 3)).then(|| format!("{base}-{quote}"))
        });
    }
    // `BTCUSDT` is 7 letters, too long for a ticker; `ETHBTC` (6) fits both, the pair wins only
    // for a known base so `BTCUSD` is a pair and a 6-letter ticker stays a ticker.
    for quote in QUOTE_ASSETS {
        if let Some(base) = s.strip_suffix(quote)
            && is_crypto_base(base)
        {
            return Some(format!("{base}-{quote}"));
        }
    }
    Some(s)
}

/// Whether `s` could be a stock ticker (1–6 letters, digits, `.` or `-`, starting with a letter).
pub fn is_plausible_stock(s: &str) -> bool {
    (1..=6).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// An option contract named by its OCC symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct OccSymbol {
    /// Underlying ticker.
    pub underlying: String,
    /// Expiry.
    pub expiry: NaiveDate,
    /// Put or call.
    pub kind: OptionKind,
    /// Strike.
    pub strike: f64,
}

/// Parses `AAPL261218P00190000`: root, `YYMMDD`, `C`/`P`, strike × 1000 in eight digits.
pub fn parse_occ(symbol: &str) -> Option<OccSymbol> {
    let s = symbol.trim();
    if s.len() < 16 || s.len() > 21 || !s.is_ascii() {
        return None;
    }
    let (root, tail) = s.split_at(s.len() - 15);
    if root.is_empty() || !root.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
        return None;
    }
    let (date, rest) = tail.split_at(6);
    let (cp, strike) = rest.split_at(1);
    if !date.chars().chain(strike.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let expiry = NaiveDate::parse_from_str(&format!("20{date}"), "%Y%m%d").ok()?;
    let kind = match cp {
        "P" => OptionKind::Put,
        "C" => OptionKind::Call,
        _ => return None,
    };
    Some(OccSymbol {
        underlying: root.to_owned(),
        expiry,
        kind,
        strike: strike.parse::<u64>().ok()? as f64 / 1000.0,
    })
}

/// The OCC symbol of a contract: `AAPL` 2026-12-18 190 put → `AAPL261218P00190000`.
pub fn occ_symbol(underlying: &str, expiry: NaiveDate, kind: OptionKind, strike: f64) -> String {
    format!(
        "{underlying}{}{}{:08}",
        expiry.format("%y%m%d"),
        match kind {
            OptionKind::Put => 'P',
            OptionKind::Call => 'C',
        },
        (strike * 1000.0).round() as u64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_pairs_have_one_spelling() {
        for s in [
            "BTC-USDT",
            "BTC/USDT",
            "btcusdt",
            "btc/usdt",
            "BTCUSDT",
            "$btc-usdt",
            "btc_usdt",
        ] {
            assert_eq!(canonical(s).as_deref(), Some("BTC-USDT"), "{s}");
        }
        assert_eq!(canonical("ETHBTC").as_deref(), Some("ETH-BTC"));
        assert_eq!(canonical("solusdc").as_deref(), Some("SOL-USDC"));
        assert_eq!(kind_of("BTC-USDT"), SymbolKind::Crypto);
        assert_eq!(as_crypto_pair("BTC").as_deref(), Some("BTC-USDT"));
        assert_eq!(as_crypto_pair("AAPL"), None);
    }

    #[test]
    fn stocks_and_options_stay_what_they_are() {
        assert_eq!(canonical("aapl").as_deref(), Some("AAPL"));
        assert_eq!(canonical("$brk.b").as_deref(), Some("BRK.B"));
        assert_eq!(
            canonical("BTC").as_deref(),
            Some("BTC"),
            "bare base: the router decides"
        );
        assert_eq!(kind_of("AAPL"), SymbolKind::Stock);
        assert_eq!(canonical("hello world"), None);
        assert_eq!(canonical("TOOLONGWORD"), None);
        let occ = parse_occ("AAPL261218P00190000").unwrap();
        assert_eq!(occ.underlying, "AAPL");
        assert_eq!(occ.expiry, NaiveDate::from_ymd_opt(2026, 12, 18).unwrap());
        assert_eq!(occ.kind, OptionKind::Put);
        assert_eq!(occ.strike, 190.0);
        assert_eq!(
            occ_symbol("AAPL", occ.expiry, OptionKind::Put, 190.0),
            "AAPL261218P00190000"
        );
        assert_eq!(
            occ_symbol("F", occ.expiry, OptionKind::Call, 11.5),
            "F261218C00011500"
        );
        assert_eq!(kind_of("AAPL261218P00190000"), SymbolKind::Option);
        assert_eq!(
            canonical("aapl261218p00190000").as_deref(),
            Some("AAPL261218P00190000")
        );
        assert_eq!(parse_occ("AAPL261318P00190000"), None, "month 13");
    }
}
