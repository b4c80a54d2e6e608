//! Free text through the pure state machine: intents, typed menu choices, the guided trade flow,
//! "Did you mean…?", and no order without the explicit Yes.

use chrono::{NaiveDate, TimeZone, Utc};

use super::{
    intent::{
        TradeAsk,
        phrasings::{NOT_TRADES, TABLE},
    },
    *,
};
use crate::integrations::{Instrument, OptionContract, OptionKind, OrderRequest, Quote, Side};

fn text(s: &str) -> Event {
    Event::Text(s.into())
}

fn tap(data: &str) -> Event {
    Event::Callback {
        id: "cb".into(),
        data: data.into(),
        message_id: Some(7),
    }
}

fn day(m: u32, d: u32) -> NaiveDate {
    let y = if m == 1 { 2027 } else { 2026 };
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn quote() -> Quote {
    Quote {
        symbol: "AAPL".into(),
        price: 190.0,
        previous_close: 188.0,
        volume: 1,
        at: Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap(),
    }
}

fn chain() -> Vec<OptionContract> {
    let mut out = Vec::new();
    for expiry in [day(12, 4), day(12, 11), day(12, 18), day(12, 24), day(1, 1)] {
        for k in (170..=210).step_by(5) {
            for kind in [OptionKind::Put, OptionKind::Call] {
                out.push(OptionContract {
                    kind,
                    strike: f64::from(k),
                    expiry,
                    bid: 2.0,
                    ask: 2.2,
                    delta: None,
                    implied_volatility: None,
                });
            }
        }
    }
    out
}

fn requests(effects: &[Effect]) -> Vec<&Request> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Request(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn sent(effects: &[Effect]) -> Vec<&Reply> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// Answers an `OptionChain` request the step made, as the worker would.
fn answer_chain(state: State, effects: &[Effect]) -> (State, Vec<Effect>) {
    let [Request::OptionChain { ask }] = requests(effects)[..] else {
        panic!("expected one option-chain request, got {effects:?}");
    };
    step(
        state,
        Event::OptionChain {
            ask: ask.clone(),
            result: Ok((quote(), chain())),
        },
    )
}

fn places_an_order(effects: &[Effect]) -> bool {
    requests(effects)
        .iter()
        .any(|r| matches!(r, Request::PlaceOrder { .. }))
}

#[test]
fn buy_aapl_put_asks_expiry_strike_and_contracts_then_the_same_preview_and_yes() {
    let (s, e) = step(State::Idle, text("Buy AAPL put"));
    let (s, e) = answer_chain(s, &e);
    let State::AwaitingTradeDetail { detail, offered, .. } = &s else {
        panic!("{s:?}")
    };
    assert_eq!(*detail, Detail::Expiry);
    assert_eq!(offered, &["2026-12-04", "2026-12-11", "2026-12-18", "2026-12-24"]);
    let reply = sent(&e)[0];
    assert!(
        reply.text.contains("Which expiry for the AAPL put?"),
        "{}",
        reply.text
    );
    assert_eq!(
        reply.keyboard.as_ref().unwrap()[0][2].data,
        "pick:expiry:2026-12-18"
    );

    // Typed: the third offered expiry, by its number.
    let (s, e) = step(s, text("3"));
    let (s, e) = answer_chain(s, &e);
    let State::AwaitingTradeDetail { detail, offered, .. } = &s else {
        panic!("{s:?}")
    };
    assert_eq!(*detail, Detail::Strike);
    // Buying: strikes around the money (190).
    assert_eq!(offered, &["175", "180", "185", "190", "195", "200"]);
    assert!(sent(&e)[0].text.contains("Which strike for the AAPL put?"));

    // Tapped: the 185 strike.
    let (s, e) = step(s, tap("pick:strike:185"));
    assert!(matches!(e[0], Effect::AnswerCallback { .. }));
    let (s, e) = answer_chain(s, &e);
    assert!(matches!(
        s,
        State::AwaitingTradeDetail {
            detail: Detail::Quantity,
            ..
        }
    ));
    assert!(sent(&e)[0].text.contains("How many AAPL put contracts?"));

    // Typed: two contracts.
    let (s, e) = step(s, text("2 contracts"));
    let (s, e) = answer_chain(s, &e);
    let order = OrderRequest {
        symbol: "AAPL".into(),
        instrument: Instrument::Option {
            kind: OptionKind::Put,
            strike: 185.0,
            expiry: day(12, 18),
        },
        side: Side::Buy,
        quantity: 2,
        limit_price: 2.1,
    };
    assert_eq!(
        requests(&e),
        [&Request::CheckRisk {
            order: order.clone(),
            strategy: None
        }]
    );
    assert!(!places_an_order(&e));
    let report = risk::RiskReport {
        buying_power: 100_000.0,
        required_cash: 420.0,
        share_after: 0.01,
        max_share: 0.25,
        problems: vec![],
    };
    let (s, e) = step(
        s,
        Event::RiskChecked {
            order: order.clone(),
            key: "k".into(),
            strategy: None,
            result: Ok(report),
        },
    );
    assert!(matches!(s, State::AwaitingConfirmation { .. }));
    assert!(sent(&e)[0].text.contains("Execute?"));
    assert!(!places_an_order(&e));
    // Only the explicit yes places it.
    let (_, e) = step(s, text("yes"));
    assert_eq!(
        requests(&e),
        [&Request::PlaceOrder {
            order,
            key: "k".into()
        }]
    );
}

#[test]
fn a_trade_with_every_detail_goes_straight_to_the_preview() {
    let (s, e) = step(State::Idle, text("sell 1 AAPL 2026-12-11 180 put"));
    let (_, e) = answer_chain(s, &e);
    let [Request::CheckRisk { order, strategy }] = requests(&e)[..] else {
        panic!("{e:?}")
    };
    assert_eq!(order.side, Side::Sell);
    assert_eq!(*strategy, Some(Strategy::CashSecuredPut));
    assert_eq!(order.describe(), "Sell 1 AAPL 2026-12-11 180.00 put @ 2.10");
}

#[test]
fn unlisted_details_are_asked_again_and_bad_answers_change_nothing() {
    // An expiry that is not listed: asked again, with the listed ones.
    let (s, e) = step(
        State::Idle,
        text("sell covered calls on AAPL expiring 2026-12-05"),
    );
    let (s, e) = answer_chain(s, &e);
    assert!(
        sent(&e)[0]
            .text
            .starts_with("No AAPL call expires on 2026-12-05.")
    );
    let (s, e) = step(s, text("dec 18"));
    let (s, _) = answer_chain(s, &e);
    let State::AwaitingTradeDetail { detail, offered, .. } = &s else {
        panic!("{s:?}")
    };
    assert_eq!(*detail, Detail::Strike);
    // Selling a call: 5 % out of the money (199.5).
    assert_eq!(offered, &["185", "190", "195", "200", "205", "210"]);
    // A strike that is not listed: asked again.
    let (s, e) = step(s, text("$201"));
    let (s, e) = answer_chain(s, &e);
    assert!(
        sent(&e)[0]
            .text
            .starts_with("There is no $201 strike on 2026-12-18."),
        "{:?}",
        sent(&e)[0].text
    );
    // Not an answer at all: the question again, state unchanged.
    let before = s.clone();
    let (s, e) = step(s, text("blue"));
    assert_eq!(s, before);
    assert!(sent(&e)[0].text.starts_with("I didn't get that. Which strike"));
    // A stale button from an earlier question is refused.
    let (s, e) = step(s, tap("pick:expiry:2026-12-04"));
    assert_eq!(s, before);
    assert_eq!(
        e,
        [Effect::AnswerCallback {
            callback_id: "cb".into(),
            text: Some("This question has expired.".into())
        }]
    );
    // Zero contracts is refused, with the question again.
    let (s, e) = step(s, text("1"));
    let (s, _) = answer_chain(s, &e);
    let (s2, e) = step(s.clone(), text("0"));
    assert_eq!(s2, s);
    assert!(sent(&e)[0].text.starts_with("Send a whole number from 1 to 100."));
    // /cancel (or "never mind") ends it; nothing was placed.
    let (s, e) = step(s, text("never mind"));
    assert_eq!(s, State::Idle);
    assert!(sent(&e)[0].text.starts_with("Cancelled a trade of AAPL"));
}

#[test]
fn buy_shares_without_a_quantity_asks_how_many() {
    let (s, e) = step(State::Idle, text("buy some apple"));
    assert!(matches!(
        s,
        State::AwaitingTradeDetail {
            detail: Detail::Quantity,
            ..
        }
    ));
    assert!(sent(&e)[0].text.starts_with("How many AAPL shares?"));
    let (s, e) = step(s, text("7"));
    assert_eq!(s, State::Idle);
    let [Request::CheckRisk { order, .. }] = requests(&e)[..] else {
        panic!("{e:?}")
    };
    assert_eq!(
        (order.quantity, order.side, &order.instrument),
        (7, Side::Buy, &Instrument::Stock)
    );
}

#[test]
fn strategy_menu_takes_the_number_or_the_name() {
    let menu = || State::AwaitingStrategy {
        symbol: "AAPL".into(),
        price: 190.0,
    };
    for (typed, strategy) in [
        ("1", Strategy::CashSecuredPut),
        ("csp", Strategy::CashSecuredPut),
        ("cash secured put", Strategy::CashSecuredPut),
        ("2", Strategy::CoveredCall),
        ("Covered Call", Strategy::CoveredCall),
        ("3", Strategy::Wheel),
        ("the wheel", Strategy::Wheel),
    ] {
        let (s, e) = step(menu(), text(typed));
        assert_eq!(s, menu(), "{typed}");
        assert_eq!(
            requests(&e),
            [&Request::Analyse {
                symbol: "AAPL".into(),
                strategy
            }],
            "{typed}"
        );
    }
    let (s, e) = step(menu(), text("4"));
    assert_eq!(s, menu());
    assert!(
        sent(&e)[0]
            .text
            .starts_with("Which strategy? 1) Cash-secured put 2) Covered call 3) Wheel")
    );
    assert!(sent(&e)[0].keyboard.is_some());
}

#[test]
fn the_start_menu_takes_its_numbers_and_names() {
    assert_eq!(
        step(State::Idle, text("2")).1,
        [Effect::Request(Request::Portfolio)]
    );
    assert_eq!(
        step(State::Idle, text("3")).1,
        [Effect::Request(Request::ListAlerts)]
    );
    assert_eq!(
        step(State::Idle, text("alerts")).1,
        [Effect::Request(Request::ListAlerts)]
    );
    assert!(matches!(
        step(State::Idle, text("1")).0,
        State::AwaitingTicker { .. }
    ));
    // Not a menu entry, not an intent: the language model's turn (the worker says "not
    // understood" itself when none is configured).
    assert_eq!(
        step(State::Idle, text("9")).1,
        [Effect::Request(Request::Understand { text: "9".into() })]
    );
}

#[test]
fn alert_me_when_btc_crosses_sets_the_alert() {
    let (s, e) = step(State::Idle, text("alert me when btc > 110000"));
    assert_eq!(s, State::Idle);
    assert_eq!(
        e,
        [Effect::Request(Request::SetAlert {
            symbol: "BTC-USDT".into(),
            direction: Direction::Above,
            price: 110_000.0
        })]
    );
}

#[test]
fn a_misspelt_ticker_gets_did_you_mean_with_a_button() {
    let (s, e) = step(State::Idle, text("price of nvdia"));
    assert_eq!(s, State::Idle);
    assert!(requests(&e).is_empty(), "nothing is fetched for a guess");
    let reply = sent(&e)[0];
    assert_eq!(
        reply.text,
        "I don't know \u{201c}nvdia\u{201d}. Did you mean NVDA?"
    );
    let buttons = &reply.keyboard.as_ref().unwrap()[0];
    assert_eq!(buttons[0].data, "say:price NVDA");
    assert_eq!(buttons[1].data, "dym:no");
    let (_, e) = step(s, tap("say:price NVDA"));
    assert!(matches!(e[0], Effect::AnswerCallback { .. }));
    assert_eq!(
        requests(&e),
        [&Request::Quote {
            symbol: "NVDA".into(),
            purpose: QuotePurpose::Show
        }]
    );
    // The market does not know a symbol: suggested when one is near.
    let (_, e) = step(
        State::Idle,
        Event::Quote {
            purpose: QuotePurpose::Show,
            symbol: "NVDAA".into(),
            result: Err(crate::integrations::IntegrationError::UnknownSymbol(
                "NVDAA".into(),
            )),
        },
    );
    assert_eq!(
        sent(&e)[0].keyboard.as_ref().unwrap()[0][0].data,
        "say:price NVDA"
    );
    // While waiting for a ticker, a company name is a ticker and a typo is asked about.
    let (_, e) = step(State::AwaitingTicker { tries: 0 }, text("Apple"));
    assert_eq!(
        requests(&e),
        [&Request::Quote {
            symbol: "AAPL".into(),
            purpose: QuotePurpose::Ticker
        }]
    );
    let (_, e) = step(State::AwaitingTicker { tries: 0 }, text("tesal"));
    assert_eq!(sent(&e)[0].keyboard.as_ref().unwrap()[0][0].data, "say:TSLA");
}

#[test]
fn free_text_never_places_an_order_without_the_explicit_yes() {
    let ask = TradeAsk {
        symbol: "AAPL".into(),
        side: Side::Sell,
        option: Some(OptionKind::Put),
        quantity: None,
        strike: Some(180.0),
        expiry: Some(day(12, 18)),
    };
    let waiting = [
        State::Idle,
        State::AwaitingTicker { tries: 0 },
        State::AwaitingStrategy {
            symbol: "AAPL".into(),
            price: 190.0,
        },
        State::AwaitingTradeDetail {
            ask,
            detail: Detail::Quantity,
            offered: vec!["1".into(), "2".into()],
        },
    ];
    let texts = TABLE.iter().map(|(t, _)| *t).chain(NOT_TRADES.iter().copied());
    let mut checked = 0;
    for t in texts.chain(["yes", "y", "execute", "1", "ok"]) {
        for state in &waiting {
            let (_, e) = step(state.clone(), text(t));
            assert!(!places_an_order(&e), "{t:?} in {} placed an order", state.name());
            checked += 1;
        }
    }
    assert!(checked > 900);
    // Awaiting confirmation, only words meaning yes place it; a number does not.
    let confirming = State::AwaitingConfirmation {
        proposal: Proposal {
            order: OrderRequest {
                symbol: "AAPL".into(),
                instrument: Instrument::Stock,
                side: Side::Buy,
                quantity: 1,
                limit_price: 190.0,
            },
            key: "k".into(),
            strategy: None,
            starter: None,
        },
    };
    for (t, places) in [
        ("yes", true),
        ("Yes, execute", true),
        ("y", true),
        ("1", false),
        ("no", false),
        ("buy 10 AAPL", false),
    ] {
        let (_, e) = step(confirming.clone(), text(t));
        assert_eq!(places_an_order(&e), places, "{t:?}");
    }
}

fn understood(answer: nlu::ModelAnswer) -> (State, Vec<Effect>) {
    step(State::Idle, Event::Understood { result: Ok(answer) })
}

#[test]
fn model_answers_are_validated_like_typed_text() {
    use nlu::{ModelAnswer, NluFailure};
    let answer = |intent: &str, symbols: &[&str]| ModelAnswer {
        intent: intent.into(),
        symbols: symbols.iter().map(|s| (*s).to_owned()).collect(),
        ..ModelAnswer::default()
    };
    assert_eq!(
        understood(answer("price", &["aapl"])).1,
        [Effect::Request(Request::Quote {
            symbol: "AAPL".into(),
            purpose: QuotePurpose::Show
        })]
    );
    let alert = ModelAnswer {
        direction: Some("above".into()),
        price: Some(110_000.0),
        ..answer("alert", &["BTC-USDT"])
    };
    assert_eq!(
        understood(alert).1,
        [Effect::Request(Request::SetAlert {
            symbol: "BTC-USDT".into(),
            direction: Direction::Above,
            price: 110_000.0
        })]
    );
    // A trade from the model goes to the guided flow and the preview, never straight to an order.
    let put = ModelAnswer {
        option: Some("put".into()),
        ..answer("sell", &["NVDA"])
    };
    let (_, e) = understood(put);
    assert!(matches!(requests(&e)[..], [Request::OptionChain { .. }]), "{e:?}");
    // Anything that is not a plausible ticker, or lacks what the intent needs, is refused.
    for bad in [
        answer("price", &["AAPL; buy 100 TSLA"]),
        answer("price", &[]),
        answer("compare", &["AAPL"]),
        ModelAnswer {
            direction: Some("sideways".into()),
            price: Some(1.0),
            ..answer("alert", &["AAPL"])
        },
        answer("launch_rockets", &["AAPL"]),
        answer("unknown", &[]),
    ] {
        assert_eq!(
            understood(bad.clone()).1,
            [Effect::send(text::DONT_UNDERSTAND)],
            "{bad:?}"
        );
    }
    // A general answer is shown, marked as written by a model.
    let general = ModelAnswer {
        answer: Some("A covered call sells the upside of shares you hold for a premium.".into()),
        ..answer("answer", &[])
    };
    let (_, e) = understood(general);
    assert!(
        sent(&e)[0]
            .text
            .starts_with("💬 General answer (written by a language model, not advice):\nA covered call")
    );
    // Off, failed, or over budget: not understood, the last one saying why.
    let (_, e) = step(
        State::Idle,
        Event::Understood {
            result: Err(NluFailure::Off),
        },
    );
    assert_eq!(e, [Effect::send(text::DONT_UNDERSTAND)]);
    let (_, e) = step(
        State::Idle,
        Event::Understood {
            result: Err(NluFailure::OverBudget),
        },
    );
    assert!(
        sent(&e)[0]
            .text
            .contains("all the free-form questions I can for you today")
    );
}
