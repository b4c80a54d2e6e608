//! The access rules around `step`: every refusal path, pure, no servers.

use std::collections::BTreeSet;

use super::{access::*, risk::RiskReport, *};
use crate::{
    config::{AccessMode, AccessSettings},
    integrations::{Instrument, OrderRequest, Side},
};

const ALICE: i64 = 1001;
const BOB: i64 = 1002;

fn settings(mode: AccessMode, traders: &[i64], admins: &[i64], viewers: &[i64]) -> AccessSettings {
    let set = |ids: &[i64]| ids.iter().copied().collect::<BTreeSet<i64>>();
    AccessSettings {
        mode,
        traders: set(traders),
        admins: set(admins),
        viewers: set(viewers),
        refusal_window_secs: 60,
    }
}

fn allowlist() -> Policy {
    Policy::new(
        &settings(AccessMode::Allowlist, &[ALICE], &[ALICE], &[BOB]),
        "ava_bot",
    )
}

fn actor(user_id: i64, name: &str, private_chat: bool) -> Actor {
    Actor {
        user_id,
        username: Some(name.to_lowercase()),
        first_name: name.into(),
        private_chat,
    }
}

fn cmd(name: &str, args: &str) -> Event {
    Event::Command {
        name: name.into(),
        args: args.into(),
    }
}

fn tap(data: &str) -> Event {
    Event::Callback {
        id: "cbq-1".into(),
        data: data.into(),
        message_id: Some(500),
    }
}

fn order() -> OrderRequest {
    OrderRequest {
        symbol: "AAPL".into(),
        instrument: Instrument::Stock,
        side: Side::Buy,
        quantity: 1,
        limit_price: 200.0,
    }
}

/// Alice's /buy AAPL 1 in a private chat, up to the confirmation question.
fn alice_proposal(policy: &Policy, alice: &Actor) -> State {
    let g = guarded_step(policy, Some(alice), State::Idle, cmd("buy", "AAPL 1"));
    assert!(g.denial.is_none(), "{g:?}");
    let report = RiskReport {
        buying_power: 100_000.0,
        required_cash: 200.0,
        share_after: 0.01,
        max_share: 0.25,
        problems: vec![],
    };
    let event = Event::RiskChecked {
        order: order(),
        key: "k1".into(),
        strategy: None,
        result: Ok(report),
    };
    let g = guarded_step(policy, Some(alice), State::Idle, event);
    assert!(g.denial.is_none());
    g.state
}

#[test]
fn a_non_trader_cannot_start_a_trade() {
    let bob = actor(BOB, "Bob", true);
    let g = guarded_step(&allowlist(), Some(&bob), State::Idle, cmd("buy", "AAPL 1"));
    let denial = g.denial.expect("refused");
    assert_eq!(denial.attempt, Attempt::Trade);
    assert_eq!(g.state, State::Idle);
    assert!(g.effects.is_empty(), "no risk check is asked: {:?}", g.effects);
    let Effect::Send(reply) = denial.reply else {
        panic!("a message")
    };
    assert!(reply.text.starts_with("Sorry"), "{}", reply.text);
    // A viewer may still read.
    let g = guarded_step(&allowlist(), Some(&bob), State::Idle, cmd("price", "AAPL"));
    assert!(g.denial.is_none());
}

#[test]
fn nobody_outside_the_allowlist_gets_anything_but_a_refusal() {
    let eve = actor(4242, "Eve", true);
    let g = guarded_step(&allowlist(), Some(&eve), State::Idle, cmd("price", "AAPL"));
    assert_eq!(g.denial.expect("refused").attempt, Attempt::View);
    assert!(g.effects.is_empty());
    // In open mode everyone reads and trades.
    let open = Policy::new(&settings(AccessMode::Open, &[], &[], &[]), "");
    let g = guarded_step(&open, Some(&eve), State::Idle, cmd("buy", "AAPL 1"));
    assert!(g.denial.is_none());
    assert!(matches!(
        g.effects[..],
        [Effect::Request(Request::CheckRisk { .. })]
    ));
}

#[test]
fn stats_is_for_admins_only() {
    let bob = actor(BOB, "Bob", true);
    let g = guarded_step(&allowlist(), Some(&bob), State::Idle, cmd("stats", ""));
    assert_eq!(g.denial.expect("refused").attempt, Attempt::Admin);
    let alice = actor(ALICE, "Alice", true);
    let g = guarded_step(&allowlist(), Some(&alice), State::Idle, cmd("stats", ""));
    assert!(g.denial.is_none());
    assert_eq!(g.effects, vec![Effect::Request(Request::Stats)]);
    // Open mode does not make everyone an admin.
    let open = Policy::new(&settings(AccessMode::Open, &[], &[], &[]), "");
    let g = guarded_step(&open, Some(&bob), State::Idle, cmd("stats", ""));
    assert_eq!(g.denial.expect("refused").attempt, Attempt::Admin);
}

#[test]
fn only_the_starter_confirms_declines_or_cancels() {
    let policy = Policy::new(&settings(AccessMode::Open, &[], &[], &[]), "ava_bot");
    let alice = actor(ALICE, "Alice", true);
    let waiting = alice_proposal(&policy, &alice);
    let State::AwaitingConfirmation { proposal } = &waiting else {
        panic!("{waiting:?}")
    };
    assert_eq!(
        proposal.starter,
        Some(Starter {
            user_id: ALICE,
            handle: "@alice".into()
        })
    );
    let bob = actor(BOB, "Bob", false);
    for event in [
        tap("confirm:yes:k1"),
        tap("confirm:no:k1"),
        cmd("cancel", ""),
        Event::Text("yes".into()),
    ] {
        let is_tap = matches!(event, Event::Callback { .. });
        let g = guarded_step(&policy, Some(&bob), waiting.clone(), event);
        assert_eq!(g.state, waiting, "nothing changes");
        assert!(g.effects.is_empty(), "{:?}", g.effects);
        let denial = g.denial.expect("refused");
        assert_eq!(denial.attempt, Attempt::Confirm);
        let expected = "Only @alice can confirm this";
        match denial.reply {
            Effect::AnswerCallback { text, .. } if is_tap => assert_eq!(text.as_deref(), Some(expected)),
            Effect::Send(reply) if !is_tap => assert_eq!(reply.text, expected),
            other => panic!("{other:?}"),
        }
    }
    // Alice's own tap places the order.
    let g = guarded_step(&policy, Some(&alice), waiting, tap("confirm:yes:k1"));
    assert!(g.denial.is_none());
    assert!(
        g.effects
            .iter()
            .any(|e| matches!(e, Effect::Request(Request::PlaceOrder { .. })))
    );
}

#[test]
fn a_trade_in_a_group_points_to_a_private_chat() {
    let policy = Policy::new(&settings(AccessMode::Open, &[], &[], &[]), "ava_bot");
    let alice = actor(ALICE, "Alice", false);
    let g = guarded_step(&policy, Some(&alice), State::Idle, cmd("buy", "AAPL 1"));
    assert_eq!(g.state, State::Idle);
    assert!(g.effects.is_empty());
    let denial = g.denial.expect("refused");
    assert_eq!(denial.attempt, Attempt::GroupTrade);
    let Effect::Send(reply) = denial.reply else {
        panic!("a message")
    };
    assert!(
        reply.text.contains("https://t.me/ava_bot?start=buy-AAPL-1"),
        "{}",
        reply.text
    );
    // Without the bot's username: how to get there instead of a link.
    let nameless = Policy::new(&settings(AccessMode::Open, &[], &[], &[]), "");
    let g = guarded_step(&nameless, Some(&alice), State::Idle, cmd("buy", "AAPL 1"));
    let Effect::Send(reply) = g.denial.expect("refused").reply else {
        panic!()
    };
    assert!(!reply.text.contains("t.me"), "{}", reply.text);
    assert!(reply.text.contains("/buy AAPL 1"), "{}", reply.text);
}

#[test]
fn an_analysis_in_a_group_shows_but_does_not_propose() {
    let policy = Policy::new(&settings(AccessMode::Open, &[], &[], &[]), "ava_bot");
    let alice = actor(ALICE, "Alice", false);
    let analysing = State::AwaitingStrategy {
        symbol: "AAPL".into(),
        price: 190.0,
    };
    let put = OrderRequest {
        instrument: Instrument::Option {
            kind: crate::integrations::OptionKind::Put,
            strike: 180.0,
            expiry: chrono::NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        },
        side: Side::Sell,
        ..order()
    };
    let analysis = Analysis {
        symbol: "AAPL".into(),
        strategy: Strategy::CashSecuredPut,
        spot: 190.0,
        strike: 180.0,
        expiry: chrono::NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        days: 25,
        premium: 2.5,
        annualised_pct: 20.3,
        break_even: 177.5,
        capital: 18_000.0,
        order: put,
    };
    let event = Event::Analysis {
        strategy: Strategy::CashSecuredPut,
        result: Ok(analysis),
    };
    let g = guarded_step(&policy, Some(&alice), analysing, event);
    assert_eq!(g.state, State::Idle, "the flow ends at the analysis");
    assert!(
        matches!(g.effects[..], [Effect::Send(_)]),
        "the analysis is shown, no risk check asked: {:?}",
        g.effects
    );
    let denial = g.denial.expect("refused");
    assert_eq!(denial.attempt, Attempt::GroupTrade);
    let Effect::Send(reply) = denial.reply else {
        panic!("a message")
    };
    assert!(
        reply.text.contains("https://t.me/ava_bot?start=analyze-AAPL"),
        "{}",
        reply.text
    );
}

#[test]
fn work_without_a_person_is_not_checked() {
    let g = guarded_step(
        &allowlist(),
        None,
        State::Idle,
        Event::TimedOut { after_secs: 60 },
    );
    assert!(g.denial.is_none());
}
