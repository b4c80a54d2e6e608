//! The table test: every state against every event kind, pure, no servers.
//!
//! Each row names an event and the state each of the four states moves to. On top of the table,
//! invariants hold in every cell: callbacks are answered first and exactly once, a step asks for
//! at most one request, and user input never goes unanswered.

use chrono::{NaiveDate, Utc};

use super::*;
use crate::integrations::{
    Account, BreakerState, Instrument, IntegrationError, OptionKind, OrderReceipt, OrderRequest, PricePoint,
    Quote, ServiceHealth, Side,
};

fn order() -> OrderRequest {
    OrderRequest {
        symbol: "AAPL".into(),
        instrument: Instrument::Option {
            kind: OptionKind::Put,
            strike: 180.0,
            expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        },
        side: Side::Sell,
        quantity: 1,
        limit_price: 2.5,
    }
}

fn states() -> [(&'static str, State); 4] {
    [
        ("I", State::Idle),
        ("T", State::AwaitingTicker { tries: 0 }),
        (
            "S",
            State::AwaitingStrategy {
                symbol: "AAPL".into(),
                price: 190.0,
            },
        ),
        (
            "C",
            State::AwaitingConfirmation {
                proposal: Proposal {
                    order: order(),
                    key: "k1".into(),
                    strategy: Some(Strategy::CashSecuredPut),
                    starter: None,
                },
            },
        ),
    ]
}

fn short(state: &State) -> &'static str {
    match state {
        State::Idle => "I",
        State::AwaitingTicker { .. } => "T",
        State::AwaitingStrategy { .. } => "S",
        State::AwaitingConfirmation { .. } => "C",
        State::AwaitingTradeDetail { .. } => "D",
    }
}

fn quote(symbol: &str) -> Quote {
    Quote {
        symbol: symbol.into(),
        price: 400.0,
        previous_close: 396.0,
        volume: 1,
        at: Utc::now(),
    }
}

fn breaker_open() -> IntegrationError {
    IntegrationError::BreakerOpen {
        service: "market data",
        retry_in_secs: 20,
    }
}

fn cmd(name: &str, args: &str) -> Event {
    Event::Command {
        name: name.into(),
        args: args.into(),
    }
}

fn callback(data: &str) -> Event {
    Event::Callback {
        id: "cb1".into(),
        data: data.into(),
        message_id: Some(14),
    }
}

fn points() -> Vec<PricePoint> {
    (0..10)
        .map(|i| PricePoint {
            at: Utc::now(),
            price: 100.0 + f64::from(i),
            volume: 1,
        })
        .collect()
}

fn analysis() -> Analysis {
    Analysis {
        symbol: "AAPL".into(),
        strategy: Strategy::CashSecuredPut,
        spot: 190.0,
        strike: 180.0,
        expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        days: 25,
        premium: 2.5,
        annualised_pct: 20.3,
        break_even: 177.5,
        capital: 18_000.0,
        order: order(),
    }
}

fn risk(problems: Vec<String>) -> risk::RiskReport {
    risk::RiskReport {
        buying_power: 100_000.0,
        required_cash: 17_750.0,
        share_after: 0.18,
        max_share: 0.25,
        problems,
    }
}

fn risk_checked(result: Fetched<risk::RiskReport>) -> Event {
    Event::RiskChecked {
        order: order(),
        key: "k2".into(),
        strategy: None,
        result,
    }
}

fn alert() -> Alert {
    Alert {
        id: 3,
        symbol: "AAPL".into(),
        direction: Direction::Above,
        price: 200.0,
        armed: true,
    }
}

/// (event name, event, next state from I, T, S, C).
fn table() -> Vec<(&'static str, Event, [&'static str; 4])> {
    vec![
        ("/cancel", cmd("cancel", ""), ["I", "I", "I", "I"]),
        ("/start", cmd("start", ""), ["I", "T", "S", "C"]),
        ("/help", cmd("help", ""), ["I", "T", "S", "C"]),
        ("/price AAPL", cmd("price", "AAPL"), ["I", "T", "S", "C"]),
        ("/price (no args)", cmd("price", ""), ["I", "T", "S", "C"]),
        ("/unknown", cmd("frobnicate", ""), ["I", "T", "S", "C"]),
        ("/analyze", cmd("analyze", ""), ["T", "T", "T", "T"]),
        ("/analyze MSFT", cmd("analyze", "MSFT"), ["T", "T", "T", "T"]),
        ("/buy AAPL 10", cmd("buy", "AAPL 10"), ["I", "T", "S", "C"]),
        (
            "/alert AAPL > 200",
            cmd("alert", "AAPL > 200"),
            ["I", "T", "S", "C"],
        ),
        ("text: msft", Event::Text("msft".into()), ["I", "T", "S", "C"]),
        // Free text that means a command does what the command does, from any state (as /analyze).
        (
            "text: analyze a stock",
            Event::Text("analyze a stock".into()),
            ["T", "T", "T", "T"],
        ),
        (
            "text: covered call",
            Event::Text("covered call".into()),
            ["T", "T", "S", "T"],
        ),
        ("text: yes", Event::Text("yes".into()), ["I", "T", "S", "C"]),
        ("text: no", Event::Text("no".into()), ["I", "T", "S", "I"]),
        (
            "callback strategy:csp",
            callback("strategy:csp"),
            ["I", "T", "S", "C"],
        ),
        (
            "callback confirm:yes:k1",
            callback("confirm:yes:k1"),
            ["I", "T", "S", "C"],
        ),
        (
            "callback confirm:no:k1",
            callback("confirm:no:k1"),
            ["I", "T", "S", "I"],
        ),
        (
            "callback confirm:yes:old",
            callback("confirm:yes:old"),
            ["I", "T", "S", "C"],
        ),
        (
            "callback menu:analyze",
            callback("menu:analyze"),
            ["T", "T", "T", "T"],
        ),
        (
            "callback alert:del:3",
            callback("alert:del:3"),
            ["I", "T", "S", "C"],
        ),
        ("callback garbage", callback("garbage"), ["I", "T", "S", "C"]),
        ("voice", Event::Unsupported(Media::Voice), ["I", "T", "S", "C"]),
        (
            "timed out",
            Event::TimedOut { after_secs: 600 },
            ["I", "I", "I", "I"],
        ),
        (
            "ticker quote ok",
            Event::Quote {
                purpose: QuotePurpose::Ticker,
                symbol: "MSFT".into(),
                result: Ok(quote("MSFT")),
            },
            ["I", "S", "S", "C"],
        ),
        (
            "ticker quote unknown",
            Event::Quote {
                purpose: QuotePurpose::Ticker,
                symbol: "ZZZZ".into(),
                result: Err(IntegrationError::UnknownSymbol("ZZZZ".into())),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "ticker quote breaker open",
            Event::Quote {
                purpose: QuotePurpose::Ticker,
                symbol: "MSFT".into(),
                result: Err(breaker_open()),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "price quote ok",
            Event::Quote {
                purpose: QuotePurpose::Show,
                symbol: "MSFT".into(),
                result: Ok(quote("MSFT")),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "series",
            Event::Series {
                purpose: SeriesPurpose::Trend,
                symbol: "AAPL".into(),
                days: 30,
                result: Ok(points()),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "comparison",
            Event::Comparison {
                days: 30,
                rows: vec![
                    ("AAPL".into(), Ok(points())),
                    ("MSFT".into(), Err(breaker_open())),
                ],
            },
            ["I", "T", "S", "C"],
        ),
        (
            "analysis ok",
            Event::Analysis {
                strategy: Strategy::CashSecuredPut,
                result: Ok(analysis()),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "analysis breaker open",
            Event::Analysis {
                strategy: Strategy::CashSecuredPut,
                result: Err(breaker_open()),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "risk passed",
            risk_checked(Ok(risk(vec![]))),
            ["C", "C", "C", "C"],
        ),
        (
            "risk failed",
            risk_checked(Ok(risk(vec!["Not enough".into()]))),
            ["I", "I", "I", "I"],
        ),
        (
            "risk unavailable",
            risk_checked(Err(breaker_open())),
            ["I", "T", "S", "C"],
        ),
        (
            "order placed",
            Event::OrderPlaced {
                result: Ok(OrderReceipt {
                    order_id: "P-1".into(),
                    fill_price: 2.5,
                    duplicate: false,
                    status: crate::integrations::OrderStatus::Filled,
                    filled_quantity: 1.0,
                }),
            },
            ["I", "T", "S", "I"],
        ),
        (
            "order rejected",
            Event::OrderPlaced {
                result: Err(IntegrationError::Rejected("no".into())),
            },
            ["I", "T", "S", "I"],
        ),
        (
            "order broker down",
            Event::OrderPlaced {
                result: Err(IntegrationError::Unavailable {
                    service: "broker",
                    reason: "timeout".into(),
                }),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "portfolio",
            Event::Portfolio {
                result: Ok(PortfolioView {
                    account: Account {
                        cash: 1000.0,
                        reserved: 0.0,
                    },
                    positions: vec![],
                }),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "alert saved",
            Event::AlertSaved {
                result: Ok((alert(), 190.0)),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "alerts",
            Event::Alerts {
                result: Ok(vec![alert()]),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "alert changed",
            Event::AlertChanged {
                change: AlertChange::Deleted(alert()),
            },
            ["I", "T", "S", "C"],
        ),
        (
            "status",
            Event::Status {
                services: vec![ServiceHealth {
                    service: "market data".into(),
                    state: BreakerState::Open,
                }],
            },
            ["I", "T", "S", "C"],
        ),
    ]
}

fn is_user_input(event: &Event) -> bool {
    matches!(
        event,
        Event::Command { .. } | Event::Text(_) | Event::Callback { .. } | Event::Unsupported(_)
    )
}

#[test]
fn every_state_against_every_event_kind() {
    let table = table();
    // Every event variant appears at least once.
    let names: std::collections::BTreeSet<&str> = table.iter().map(|(_, e, _)| e.name()).collect();
    assert_eq!(names.len(), 16, "each Event variant needs a row: {names:?}");

    let mut failures = Vec::new();
    for (label, event, expected) in &table {
        for (column, (from, state)) in states().into_iter().enumerate() {
            let (next, effects) = step(state.clone(), event.clone());
            let cell = format!("{label} in {from}");
            if short(&next) != expected[column] {
                failures.push(format!(
                    "{cell}: went to {}, expected {}",
                    short(&next),
                    expected[column]
                ));
            }
            let answers = effects
                .iter()
                .filter(|e| matches!(e, Effect::AnswerCallback { .. }))
                .count();
            if matches!(event, Event::Callback { .. })
                && (answers != 1 || !matches!(effects.first(), Some(Effect::AnswerCallback { .. })))
            {
                failures.push(format!(
                    "{cell}: callback not answered first and once: {effects:?}"
                ));
            }
            let requests = effects.iter().filter(|e| matches!(e, Effect::Request(_))).count();
            if requests > 1 {
                failures.push(format!("{cell}: {requests} requests in one step"));
            }
            if is_user_input(event) && effects.is_empty() {
                failures.push(format!("{cell}: user input got no answer"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn start_shows_the_menu_and_help_gives_examples() {
    let (_, effects) = step(State::Idle, cmd("start", ""));
    let [Effect::Send(reply)] = &effects[..] else {
        panic!("{effects:?}")
    };
    let buttons: Vec<&str> = reply
        .keyboard
        .iter()
        .flatten()
        .flatten()
        .map(|b| b.data.as_str())
        .collect();
    assert_eq!(
        buttons,
        [
            "menu:analyze",
            "menu:portfolio",
            "menu:alerts",
            "menu:status",
            "menu:help"
        ]
    );
    let (_, effects) = step(State::Idle, cmd("help", ""));
    let [Effect::Send(help)] = &effects[..] else {
        panic!("{effects:?}")
    };
    for command in [
        "/start",
        "/help",
        "/status",
        "/portfolio",
        "/price",
        "/history",
        "/trend",
        "/compare",
        "/alert ",
        "/alerts",
        "/cancel",
    ] {
        let line = help.text.lines().find(|l| l.starts_with(command));
        assert!(line.is_some(), "{command} missing from /help");
    }
    for line in help.text.lines().skip(1) {
        assert!(line.contains(" - "), "every line explains its command: {line}");
    }
}

#[test]
fn cancel_confirms_what_it_cancelled() {
    for (from, state) in states() {
        let (next, effects) = step(state.clone(), cmd("cancel", ""));
        assert_eq!(next, State::Idle);
        let Some(Effect::Send(reply)) = effects.first() else {
            panic!("{from}: no reply to /cancel");
        };
        match state.describe() {
            Some(doing) => assert_eq!(reply.text, format!("Cancelled {doing}. Nothing was placed.")),
            None => assert!(reply.text.starts_with("Nothing to cancel"), "{}", reply.text),
        }
    }
}

#[test]
fn a_timeout_tells_the_user_only_when_something_was_waiting() {
    for (from, state) in states() {
        let (_, effects) = step(state.clone(), Event::TimedOut { after_secs: 600 });
        if state.is_waiting() {
            let Some(Effect::Send(reply)) = effects.first() else {
                panic!("{from}: silent timeout");
            };
            assert!(reply.text.contains("No answer for 10 minutes"), "{}", reply.text);
        } else {
            assert!(effects.is_empty());
        }
    }
}

#[test]
fn the_analysis_walks_from_ticker_to_order() {
    let (s, e) = step(State::Idle, Event::Text("analyze a stock".into()));
    assert_eq!(s, State::AwaitingTicker { tries: 0 });
    assert!(matches!(&e[..], [Effect::Send(r)] if r.text.starts_with("Which stock?")));

    let (s, e) = step(s, Event::Text("zzzz".into()));
    assert_eq!(
        e,
        vec![Effect::Request(Request::Quote {
            symbol: "ZZZZ".into(),
            purpose: QuotePurpose::Ticker
        })]
    );
    let (s, e) = step(
        s,
        Event::Quote {
            purpose: QuotePurpose::Ticker,
            symbol: "ZZZZ".into(),
            result: Err(IntegrationError::UnknownSymbol("ZZZZ".into())),
        },
    );
    assert_eq!(s, State::AwaitingTicker { tries: 1 });
    assert!(matches!(&e[..], [Effect::Send(r)] if r.text.contains("I don't know the ticker ZZZZ")));

    let (s, e) = step(
        s,
        Event::Quote {
            purpose: QuotePurpose::Ticker,
            symbol: "AAPL".into(),
            result: Ok(quote("AAPL")),
        },
    );
    assert!(matches!(s, State::AwaitingStrategy { ref symbol, .. } if symbol == "AAPL"));
    let Effect::Send(reply) = &e[0] else { panic!() };
    assert_eq!(
        reply.keyboard.as_ref().map(|k| k.concat().len()),
        Some(3),
        "three strategy buttons"
    );

    let (s, e) = step(s, callback("strategy:csp"));
    assert!(
        matches!(e[1], Effect::Edit { message_id: 14, .. }),
        "buttons replaced by the choice"
    );
    assert_eq!(
        e[2],
        Effect::Request(Request::Analyse {
            symbol: "AAPL".into(),
            strategy: Strategy::CashSecuredPut
        })
    );
    let (s, e) = step(
        s,
        Event::Analysis {
            strategy: Strategy::CashSecuredPut,
            result: Ok(analysis()),
        },
    );
    let Effect::Send(card) = &e[0] else { panic!() };
    for needle in [
        "Sell the Dec 18 $180.00 put",
        "Premium $2.50",
        "Annualised return 20.3%",
        "Break-even $177.50",
    ] {
        assert!(
            card.text.contains(needle),
            "{needle:?} missing from {}",
            card.text
        );
    }
    assert!(matches!(&e[1], Effect::Request(Request::CheckRisk { .. })));
    let (s, e) = step(s, risk_checked(Ok(risk(vec![]))));
    let Effect::Send(ask) = &e[0] else { panic!() };
    assert!(ask.text.ends_with("Execute?"));
    let (s, e) = step(s, callback("confirm:yes:k2"));
    assert_eq!(
        e[2],
        Effect::Request(Request::PlaceOrder {
            order: order(),
            key: "k2".into()
        })
    );
    // A second tap on the same button, after the order went through, places nothing.
    let (s, _) = step(
        s,
        Event::OrderPlaced {
            result: Ok(OrderReceipt {
                order_id: "P-9".into(),
                fill_price: 2.5,
                duplicate: false,
                status: crate::integrations::OrderStatus::Filled,
                filled_quantity: 1.0,
            }),
        },
    );
    assert_eq!(s, State::Idle);
    let (s, e) = step(s, callback("confirm:yes:k2"));
    assert_eq!(s, State::Idle);
    assert!(
        matches!(&e[..], [Effect::AnswerCallback { text: Some(t), .. }] if t.starts_with("Already handled")),
        "{e:?}"
    );
}
