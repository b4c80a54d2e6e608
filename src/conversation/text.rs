//! AVA's wording: fixed texts and number formatting. Short, for traders on phones.

use super::effect::Button;

/// `$1,234.56`.
pub fn money(x: f64) -> String {
    let negative = x < 0.0;
    let cents = (x.abs() * 100.0).round() as u64;
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}${grouped}.{:02}", if negative { "-" } else { "" }, cents % 100)
}

/// `+1.23%`.
pub fn pct(x: f64) -> String {
    format!("{x:+.2}%")
}

/// Escapes text for parse mode HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `/start`.
pub const WELCOME: &str = "Welcome to AVA, your trading assistant.\n\
I can analyse a ticker, suggest an options strategy, show prices and history, and watch alerts for you.\n\
Pick an option below, or send /help to see everything I can do.";

/// `/start`'s menu.
pub fn menu() -> Vec<Vec<Button>> {
    vec![
        vec![
            Button::new("📈 Analyze a stock", "menu:analyze"),
            Button::new("💼 Portfolio", "menu:portfolio"),
        ],
        vec![
            Button::new("🔔 Alerts", "menu:alerts"),
            Button::new("ℹ️ Status", "menu:status"),
            Button::new("❓ Help", "menu:help"),
        ],
    ]
}

/// `/help`: every command with an example.
pub const HELP: &str = "What I can do:\n\
/start - welcome and menu\n\
/help - this list\n\
/price SYMBOL - latest price, e.g. /price AAPL\n\
/history SYMBOL PERIOD - prices over a period, e.g. /history AAPL 7d\n\
/trend SYMBOL PERIOD - change, min/max, moving average, e.g. /trend TSLA 30d\n\
/compare A B C - side by side, e.g. /compare AAPL MSFT NVDA\n\
/alert SYMBOL > PRICE - alert when it crosses, e.g. /alert AAPL > 200 (or <)\n\
/alerts - your alerts, with buttons to delete them\n\
/portfolio - balances and positions, e.g. /portfolio\n\
/analyze - options analysis, e.g. /analyze AAPL or just \"analyze a stock\"\n\
/buy SYMBOL QTY - buy shares after a preview and risk checks, e.g. /buy AAPL 10\n\
/status - what is in progress and how my data sources are doing\n\
/cancel - stop whatever is in progress";

/// Unknown free text (kept short: it points to /help).
pub const DONT_UNDERSTAND: &str = "I don't know that yet, try /help";

/// Usage lines, one per command that takes arguments.
pub mod usage {
    /// /price
    pub const PRICE: &str = "Usage: /price SYMBOL, e.g. /price AAPL";
    /// /history
    pub const HISTORY: &str =
        "Usage: /history SYMBOL PERIOD, e.g. /history AAPL 7d (days d, weeks w, months m; up to 1y)";
    /// /trend
    pub const TREND: &str =
        "Usage: /trend SYMBOL PERIOD, e.g. /trend AAPL 30d (days d, weeks w, months m; up to 1y)";
    /// /compare
    pub const COMPARE: &str = "Usage: /compare A B [C…], 2 to 5 symbols, e.g. /compare AAPL MSFT NVDA";
    /// /alert
    pub const ALERT: &str = "Usage: /alert SYMBOL > PRICE or /alert SYMBOL < PRICE, e.g. /alert AAPL > 200";
    /// /buy
    pub const BUY: &str = "Usage: /buy SYMBOL QUANTITY, e.g. /buy AAPL 10";
    /// /analyze
    pub const ANALYZE: &str = "Usage: /analyze [SYMBOL], e.g. /analyze AAPL";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped() {
        assert_eq!(money(1234567.891), "$1,234,567.89");
        assert_eq!(money(0.5), "$0.50");
        assert_eq!(money(-12.0), "-$12.00");
        assert_eq!(money(100.0), "$100.00");
    }
}
