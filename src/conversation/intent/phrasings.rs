//! The phrasing table: how people write, and the intent each phrasing must give.
//!
//! Each row is (message, expected) where expected is the intent's canonical phrase
//! ([`Intent::phrase`]), followed by ` ?TYPED` for each ticker guessed from a typo, or `-` when
//! the message must not be understood (the bot then says so instead of guessing).
//! The threshold is every row: a phrasing that regresses is a person AVA stops understanding.

use super::*;

pub(crate) const TABLE: &[(&str, &str)] = &[
    // Analysis.
    ("analyze a stock", "analyze"),
    ("Analyze a stock", "analyze"),
    ("analyse nvda", "analyze NVDA"),
    ("analyze NVDA", "analyze NVDA"),
    ("ANALYZE TSLA", "analyze TSLA"),
    ("anaylze aapl", "analyze AAPL"),
    ("analize msft", "analyze MSFT"),
    ("analysis of meta please", "analyze META"),
    ("what do you think of TSLA", "analyze TSLA"),
    ("what do you think about apple?", "analyze AAPL"),
    ("thoughts on nvidia", "analyze NVDA"),
    ("your opinion on AMD", "analyze AMD"),
    ("should I buy AAPL?", "analyze AAPL"),
    ("should i sell tesla", "analyze TSLA"),
    ("options strategy for googl", "analyze GOOGL"),
    ("wheel strategy on pltr", "analyze PLTR"),
    ("covered call ideas for aapl", "analyze AAPL"),
    ("📈 analyze a stock", "analyze"),
    ("can you analyze amazon for me", "analyze AMZN"),
    ("AAPL analysis", "analyze AAPL"),
    ("run an analysis", "analyze"),
    ("is NFLX a good buy?", "analyze NFLX"),
    ("analyze $spy", "analyze SPY"),
    ("hey ava, analyse Microsoft", "analyze MSFT"),
    ("analyze nvdia", "analyze NVDA ?nvdia"),
    // Price.
    ("price of aapl", "price AAPL"),
    ("Price of AAPL", "price AAPL"),
    ("PRICE AAPL", "price AAPL"),
    ("aapl price", "price AAPL"),
    ("pirce of aapl", "price AAPL"),
    ("prcie tsla", "price TSLA"),
    ("how's btc", "price BTC-USDT"),
    ("hows btc doing", "price BTC-USDT"),
    ("how is bitcoin doing today?", "price BTC-USDT"),
    ("AAPL?", "price AAPL"),
    ("aapl?", "price AAPL"),
    ("AAPL", "price AAPL"),
    ("apple", "price AAPL"),
    ("Apple 🍏", "price AAPL"),
    ("$TSLA", "price TSLA"),
    ("what's NVDA at", "price NVDA"),
    ("whats nvda trading at", "price NVDA"),
    ("where is spy trading", "price SPY"),
    ("quote msft", "price MSFT"),
    ("get me a quote for google", "price GOOGL"),
    ("what's the price of ethereum", "price ETH-USDT"),
    ("eth price?", "price ETH-USDT"),
    ("price BTC-USDT", "price BTC-USDT"),
    ("price btc/usdt", "price BTC-USDT"),
    ("btcusdt", "price BTC-USDT"),
    ("sol price", "price SOL-USDT"),
    ("how much is tesla worth", "price TSLA"),
    ("what does a share of apple cost", "price AAPL"),
    ("price of Apple", "price AAPL"),
    ("price of XYZ", "price XYZ"),
    ("price of ibm", "price IBM"),
    ("KO price", "price KO"),
    ("price $ko", "price KO"),
    ("price of coca-cola", "price KO"),
    ("check price on intel pls", "price INTC"),
    ("🚀 nvda price 🚀", "price NVDA"),
    ("price  of   amd", "price AMD"),
    ("price of tesal", "price TSLA ?tesal"),
    ("price of APPL", "price AAPL ?APPL"),
    ("price nvdia", "price NVDA ?nvdia"),
    ("how's NVIDIA", "price NVDA"),
    ("how is ford doing", "price F"),
    ("F?", "price F"),
    ("latest on disney?", "price DIS"),
    ("quote on $COIN", "price COIN"),
    // History and trend.
    ("nvda last 30 days", "history NVDA 30 days"),
    ("NVDA last 30 days", "history NVDA 30 days"),
    ("history of aapl", "history AAPL 7 days"),
    ("aapl history 2 weeks", "history AAPL 14 days"),
    ("histroy tsla 30d", "history TSLA 30 days"),
    ("tsla prices past month", "history TSLA 30 days"),
    ("apple over the last week", "history AAPL 7 days"),
    ("show me btc for the past 3 months", "history BTC-USDT 90 days"),
    ("msft 1y history", "history MSFT 365 days"),
    ("trend of tsla", "trend TSLA 30 days"),
    ("TSLA trend 3m", "trend TSLA 90 days"),
    ("nvda performance this year", "trend NVDA 365 days"),
    ("trend btc 7d", "trend BTC-USDT 7 days"),
    ("chart for google 60 days", "trend GOOGL 60 days"),
    ("how has meta been trending", "trend META 30 days"),
    ("aapl 14 days", "history AAPL 14 days"),
    ("eth last 10 days please", "history ETH-USDT 10 days"),
    ("historical prices for amd", "history AMD 7 days"),
    ("SPY 2w", "history SPY 14 days"),
    ("perfromance of netflix", "trend NFLX 30 days"),
    // Compare.
    ("compare btc eth sol", "compare BTC-USDT ETH-USDT SOL-USDT"),
    ("compare AAPL MSFT NVDA", "compare AAPL MSFT NVDA"),
    ("compare apple and microsoft", "compare AAPL MSFT"),
    ("comapre tsla, nvda", "compare TSLA NVDA"),
    ("AAPL vs MSFT", "compare AAPL MSFT"),
    ("btc versus eth", "compare BTC-USDT ETH-USDT"),
    ("tesla vs. ford", "compare TSLA F"),
    ("how does amd compare to nvidia", "compare AMD NVDA"),
    ("compare spy qqq iwm", "compare SPY QQQ IWM"),
    ("Compare Google, Meta & Amazon", "compare GOOGL META AMZN"),
    ("nvda against amd", "compare NVDA AMD"),
    (
        "compare aapl msft nvda tsla amzn",
        "compare AAPL MSFT NVDA TSLA AMZN",
    ),
    ("compare jpm and $ko", "compare JPM KO"),
    // Alerts.
    ("alert me when BTC > 110000", "alert BTC-USDT > 110000"),
    ("alert me when btc > 110000", "alert BTC-USDT > 110000"),
    ("alert me when btc>110000", "alert BTC-USDT > 110000"),
    ("alert me when btc goes above 110k", "alert BTC-USDT > 110000"),
    ("tell me if AAPL drops below 150", "alert AAPL < 150"),
    ("tell me if apple drops below $150", "alert AAPL < 150"),
    ("notify me when tsla is over 300", "alert TSLA > 300"),
    ("let me know if nvda falls under 100", "alert NVDA < 100"),
    ("ping me if eth rises above 5,000", "alert ETH-USDT > 5000"),
    ("alert TSLA < 180.5", "alert TSLA < 180.5"),
    ("set an alert for msft above 450", "alert MSFT > 450"),
    ("alret me when aapl > 200", "alert AAPL > 200"),
    ("🔔 alert nvda above 200", "alert NVDA > 200"),
    ("warn me if spy dips below 500", "alert SPY < 500"),
    ("btc > 110000", "alert BTC-USDT > 110000"),
    ("AAPL < 150", "alert AAPL < 150"),
    ("remind me when sol climbs above 300", "alert SOL-USDT > 300"),
    ("if meta drops below 500 let me know", "alert META < 500"),
    ("alert me if google is higher than 200", "alert GOOGL > 200"),
    ("notify me when amzn is less than 170", "alert AMZN < 170"),
    ("watch COIN for above 250", "alert COIN > 250"),
    ("alert me when nvdia > 200", "alert NVDA > 200 ?nvdia"),
    // Alert list.
    ("show my alerts", "alerts"),
    ("my alerts", "alerts"),
    ("list alerts", "alerts"),
    ("what alerts do i have?", "alerts"),
    ("🔔 Alerts", "alerts"),
    ("alrets", "alerts"),
    // Portfolio.
    ("show my portfolio", "portfolio"),
    ("portfolio", "portfolio"),
    ("💼 Portfolio", "portfolio"),
    ("how am I doing", "portfolio"),
    ("how am i doing?", "portfolio"),
    ("my positions", "portfolio"),
    ("what are my holdings", "portfolio"),
    ("portfolo", "portfolio"),
    ("balance", "portfolio"),
    ("what's my buying power", "portfolio"),
    ("what do i own", "portfolio"),
    ("show me my account", "portfolio"),
    ("PORTFOLIO PLS", "portfolio"),
    // Help, menu, status.
    ("help", "help"),
    ("❓ Help", "help"),
    ("what can you do?", "help"),
    ("hlep", "help"),
    ("show commands", "help"),
    ("menu", "start"),
    ("status", "status"),
    ("ℹ️ Status", "status"),
    // Trades.
    ("buy 10 AAPL", "buy 10 AAPL"),
    ("buy 10 aapl", "buy 10 AAPL"),
    ("Buy 10 shares of Apple", "buy 10 AAPL"),
    ("buy AAPL 10", "buy 10 AAPL"),
    ("please buy 5 nvda", "buy 5 NVDA"),
    ("can you buy 100 shares of tsla", "buy 100 TSLA"),
    ("I want to buy 3 msft", "buy 3 MSFT"),
    ("i'd like to buy 2 shares of google", "buy 2 GOOGL"),
    ("buy ten amd", "buy 10 AMD"),
    ("buy a share of meta", "buy 1 META"),
    ("BUY 50 F", "buy 50 F"),
    ("purchase 20 intc", "buy 20 INTC"),
    ("byu 10 aapl", "-"),
    ("buuy 10 aapl", "buy 10 AAPL"),
    ("buy 10 $KO", "buy 10 KO"),
    ("buy 10 AAPL now", "buy 10 AAPL"),
    ("buy 10 aapl 🚀", "buy 10 AAPL"),
    ("buy AAPL", "buy AAPL"),
    ("buy some tesla", "buy TSLA"),
    ("buy apple stock", "buy AAPL"),
    ("Buy AAPL put", "buy AAPL put"),
    ("buy aapl puts", "buy AAPL put"),
    ("buy a put on AAPL", "buy 1 AAPL put"),
    ("buy 2 nvda calls", "buy 2 NVDA call"),
    ("buy tsla call", "buy TSLA call"),
    ("sell a put on NVDA", "sell 1 NVDA put"),
    ("sell puts on nvda", "sell NVDA put"),
    ("sell a cash secured put on amd", "sell 1 AMD put"),
    ("sell a csp on pltr", "sell 1 PLTR put"),
    ("sell a covered call on AAPL", "sell 1 AAPL call"),
    ("sell covered calls on apple", "sell AAPL call"),
    ("sell a cc on msft", "sell 1 MSFT call"),
    ("write a put on spy", "sell 1 SPY put"),
    ("sell 2 NVDA 130 puts", "sell 2 NVDA $130 put"),
    ("sell NVDA 130 put", "sell NVDA $130 put"),
    ("sell 3 contracts of tsla puts at 200", "sell 3 TSLA $200 put"),
    ("sell a put on nvda at $120 strike", "sell 1 NVDA $120 put"),
    (
        "sell 1 nvda 2026-12-18 130 put",
        "sell 1 NVDA 2026-12-18 $130 put",
    ),
    (
        "sell an aapl call expiring 2026-12-18",
        "sell 1 AAPL 2026-12-18 call",
    ),
    ("sell 10 AAPL", "sell 10 AAPL"),
    ("sell 5 shares of tesla", "sell 5 TSLA"),
    ("please sell a put on meta", "sell 1 META put"),
    ("Sell A Put On NVDA", "sell 1 NVDA put"),
    ("sel a put on nvda", "-"),
    ("selll a put on nvda", "sell 1 NVDA put"),
    ("buy a put on nvdia", "buy 1 NVDA put ?nvdia"),
    ("buy bitcoin", "buy BTC-USDT"),
    ("buy 2 eth", "buy 2 ETH-USDT"),
    ("let's buy 10 aapl", "buy 10 AAPL"),
    ("go ahead and buy 4 amzn", "buy 4 AMZN"),
    ("ok buy 1 spy", "buy 1 SPY"),
    // Cancel.
    ("stop", "cancel"),
    ("STOP", "cancel"),
    ("never mind", "cancel"),
    ("nevermind", "cancel"),
    ("nvm", "cancel"),
    ("cancel", "cancel"),
    ("cancel that", "cancel"),
    ("forget it", "cancel"),
    ("stop it please", "cancel"),
    ("cancle", "cancel"),
    ("ok stop", "cancel"),
    ("abort", "cancel"),
    // Not understood: AVA says so rather than guessing.
    ("hello", "-"),
    ("thanks!", "-"),
    ("what's the weather like", "-"),
    ("🙂", "-"),
    ("lol", "-"),
    ("I bought a car", "-"),
    ("tell me a joke", "-"),
    ("good morning", "-"),
    ("compare", "-"),
    ("buy", "-"),
    ("sell everything", "-"),
];

/// Messages that must never become a trade (they may mean something else, or nothing).
pub(crate) const NOT_TRADES: &[&str] = &[
    "I bought a car",
    "i bought 10 aapl yesterday",
    "I sold my house",
    "sold 5 tsla",
    "should I buy AAPL?",
    "should i sell nvda",
    "buy low sell high",
    "don't buy TSLA",
    "do not sell my apple shares",
    "never buy meta",
    "my friend said to buy NVDA",
    "buy the dip",
    "I want to sell my car",
    "sell me on why I should buy NVDA",
    "buy me a coffee",
    "what did I buy",
    "why did you sell aapl",
    "is it a good time to buy btc",
    "buy or sell?",
    "I'm thinking about buying 10 aapl",
    "buying power",
    "sell-side analysts like nvda",
    "who sells puts on tsla",
    "buy 10 aapl at 150",
    "buy a covered call on aapl",
    "sell",
    "buy",
    "tell me when AAPL hits 150",
];

fn describe(text: &str) -> String {
    match parse(text) {
        None => "-".into(),
        Some(p) => {
            let mut s = p.intent.phrase();
            for (typed, _) in &p.guessed {
                s.push_str(&format!(" ?{typed}"));
            }
            s
        }
    }
}

#[test]
fn every_phrasing_in_the_table_gives_its_intent() {
    assert!(
        TABLE.len() >= 200,
        "the table needs at least 200 phrasings, has {}",
        TABLE.len()
    );
    let wrong: Vec<String> = TABLE
        .iter()
        .filter_map(|(text, want)| {
            let got = describe(text);
            (got != *want).then(|| format!("{text:?}: want {want:?}, got {got:?}"))
        })
        .collect();
    let right = TABLE.len() - wrong.len();
    let understood = TABLE.iter().filter(|(_, want)| *want != "-").count();
    println!(
        "phrasing table: {right}/{} mapped as expected ({:.1}%); {understood} carry an intent, {} must be refused",
        TABLE.len(),
        right as f64 * 100.0 / TABLE.len() as f64,
        TABLE.len() - understood
    );
    // Threshold: all of them. Each row is a way a person writes; a miss is a person not understood.
    assert!(
        wrong.is_empty(),
        "{} phrasings mapped wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn no_ordinary_sentence_becomes_a_trade() {
    let trades: Vec<String> = NOT_TRADES
        .iter()
        .filter(|text| {
            matches!(
                parse(text).map(|p| p.intent),
                Some(Intent::Trade(_) | Intent::Command(Command::Buy(..)))
            )
        })
        .map(|t| format!("{t:?} → {}", describe(t)))
        .collect();
    assert!(trades.is_empty(), "taken for trades:\n{}", trades.join("\n"));
}

#[test]
fn every_canonical_phrase_parses_back_to_its_intent() {
    for (text, want) in TABLE {
        if *want == "-" {
            continue;
        }
        let intent = parse(text).expect("in the table").intent;
        let phrase = intent.phrase();
        assert_eq!(parse(&phrase).map(|p| p.intent), Some(intent), "{phrase:?}");
        // It travels in callback data after `say:`: Telegram allows 64 bytes.
        assert!(phrase.len() <= 60, "{phrase:?} is too long for a button");
    }
}
