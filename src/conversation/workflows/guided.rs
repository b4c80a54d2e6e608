//! A trade asked for in words: what it lacks (expiry, strike, how many) is asked one detail at a
//! time, with buttons and typed answers; then the same preview, risk checks and Yes as /buy.
//!
//! The draft travels with its requests (`Request::OptionChain { ask }`) and is stored only while
//! waiting for the user, with the choices offered so a typed "2" means the second button. Each
//! answered detail fetches the chain again, so the final price is fresh and a typed strike or
//! expiry is checked against what is listed.

use chrono::NaiveDate;

use super::super::{
    effect::{Button, Effect, Reply, Request},
    event::Fetched,
    free_text,
    intent::{Intent, TradeAsk},
    menu,
    state::{Detail, State},
    strategy::Strategy,
    views,
};
use crate::integrations::{
    Instrument, IntegrationError, OptionContract, OptionKind, OrderRequest, Quote, Side,
};

/// Expiries offered: the nearest few, as people trade them.
const EXPIRIES_OFFERED: usize = 4;
/// Strikes offered around the target.
const STRIKES_OFFERED: usize = 6;
/// Most option contracts one typed request may open.
const MAX_CONTRACTS: u32 = 100;
/// Most shares one typed request may trade (as /buy).
const MAX_SHARES: u32 = 100_000;

fn what(ask: &TradeAsk) -> String {
    match ask.option {
        Some(OptionKind::Put) => format!("{} put", ask.symbol),
        Some(OptionKind::Call) => format!("{} call", ask.symbol),
        None => format!("{} shares", ask.symbol),
    }
}

fn strategy_of(ask: &TradeAsk) -> Option<Strategy> {
    match (ask.side, ask.option) {
        (Side::Sell, Some(OptionKind::Put)) => Some(Strategy::CashSecuredPut),
        (Side::Sell, Some(OptionKind::Call)) => Some(Strategy::CoveredCall),
        _ => None,
    }
}

fn label(detail: Detail, value: &str) -> String {
    match detail {
        Detail::Strike => format!("${value}"),
        _ => value.to_owned(),
    }
}

/// Asks for `detail`, offering `offered`, with `intro` before the question.
fn ask_for(ask: TradeAsk, detail: Detail, offered: Vec<String>, intro: &str) -> (State, Vec<Effect>) {
    let question = match detail {
        Detail::Expiry => format!("Which expiry for the {}?", what(&ask)),
        Detail::Strike => format!("Which strike for the {}?", what(&ask)),
        Detail::Quantity if ask.option.is_some() => format!("How many {} contracts?", what(&ask)),
        Detail::Quantity => format!("How many {}?", what(&ask)),
    };
    let list: Vec<String> = offered
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{}) {}", i + 1, label(detail, v)))
        .collect();
    let hint = match detail {
        Detail::Quantity => "Tap one or type a number".to_owned(),
        Detail::Expiry => "Tap one, or type its number or the date (YYYY-MM-DD)".to_owned(),
        Detail::Strike => format!(
            "Tap one, or type its number (1–{}) or the strike price",
            offered.len()
        ),
    };
    let text = format!("{intro}{question}\n{}\n{hint}, or /cancel.", list.join("  "));
    let buttons: Vec<Button> = offered
        .iter()
        .map(|v| Button::new(label(detail, v), format!("pick:{}:{v}", detail.code())))
        .collect();
    let rows = buttons.chunks(3).map(<[Button]>::to_vec).collect();
    (
        State::AwaitingTradeDetail { ask, detail, offered },
        vec![Effect::Send(Reply::text(text).with_keyboard(rows))],
    )
}

fn quantities(ask: &TradeAsk) -> Vec<String> {
    let list: &[u32] = if ask.option.is_some() {
        &[1, 2, 5, 10]
    } else {
        &[1, 5, 10, 100]
    };
    list.iter().map(u32::to_string).collect()
}

/// Starts (or, with a detail filled in, continues) a trade asked for in words.
pub(crate) fn start(state: State, ask: TradeAsk) -> (State, Vec<Effect>) {
    if ask.option.is_some() {
        // Details are checked against the listed options, fetched fresh.
        let state = if matches!(state, State::AwaitingTradeDetail { .. }) {
            State::Idle
        } else {
            state
        };
        return (state, vec![Effect::Request(Request::OptionChain { ask })]);
    }
    match ask.quantity {
        None => {
            let offered = quantities(&ask);
            ask_for(ask, Detail::Quantity, offered, "")
        }
        Some(quantity) => {
            let order = OrderRequest {
                symbol: ask.symbol,
                instrument: Instrument::Stock,
                side: ask.side,
                quantity,
                // Zero: priced at the market by the risk check.
                limit_price: 0.0,
            };
            (
                State::Idle,
                vec![Effect::Request(Request::CheckRisk {
                    order,
                    strategy: None,
                })],
            )
        }
    }
}

/// The chain came back: ask the next missing detail, or price the order and check its risk.
pub(crate) fn on_option_chain(
    state: State,
    mut ask: TradeAsk,
    result: Fetched<(Quote, Vec<OptionContract>)>,
) -> (State, Vec<Effect>) {
    let (quote, chain) = match result {
        Ok(answer) => answer,
        Err(IntegrationError::UnknownSymbol(s)) => {
            let rephrase = |symbol: &str| {
                let ask = TradeAsk {
                    symbol: symbol.to_owned(),
                    ..ask.clone()
                };
                Intent::Trade(ask).phrase()
            };
            return (state, vec![free_text::unknown_ticker(&s, rephrase)]);
        }
        Err(e) => {
            return (
                state,
                vec![Effect::send(format!(
                    "{} I need the option chain for that; try again in a minute. Nothing was placed.",
                    views::unavailable(&e)
                ))],
            );
        }
    };
    let Some(kind) = ask.option else {
        return (state, vec![]);
    };
    let today = quote.at.date_naive();
    let listed: Vec<&OptionContract> = chain
        .iter()
        .filter(|c| c.kind == kind && c.expiry > today && c.bid > 0.0)
        .collect();
    let mut expiries: Vec<NaiveDate> = listed.iter().map(|c| c.expiry).collect();
    expiries.sort();
    expiries.dedup();
    if expiries.is_empty() {
        return (
            State::Idle,
            vec![Effect::send(format!(
                "No {} is listed right now. Nothing was placed.",
                what(&ask)
            ))],
        );
    }
    let mut intro = String::new();
    let expiry = match ask.expiry {
        Some(e) if expiries.contains(&e) => e,
        other => {
            if let Some(e) = other {
                intro = format!("No {} expires on {e}. ", what(&ask));
                ask.expiry = None;
            }
            let offered = expiries
                .iter()
                .take(EXPIRIES_OFFERED)
                .map(ToString::to_string)
                .collect();
            return ask_for(ask, Detail::Expiry, offered, &intro);
        }
    };
    let at_expiry: Vec<&&OptionContract> = listed.iter().filter(|c| c.expiry == expiry).collect();
    let contract = match ask.strike {
        Some(k) => match at_expiry.iter().find(|c| (c.strike - k).abs() < 1e-6) {
            Some(c) => (**c).clone(),
            None => {
                intro = format!("There is no ${k} strike on {expiry}. ");
                ask.strike = None;
                let offered = strikes(&at_expiry, quote.price, kind, ask.side);
                return ask_for(ask, Detail::Strike, offered, &intro);
            }
        },
        None => {
            let offered = strikes(&at_expiry, quote.price, kind, ask.side);
            let intro = format!(
                "{} is at {}. ",
                quote.symbol,
                super::super::text::money(quote.price)
            );
            return ask_for(ask, Detail::Strike, offered, &intro);
        }
    };
    let Some(quantity) = ask.quantity else {
        let offered = quantities(&ask);
        return ask_for(ask, Detail::Quantity, offered, "");
    };
    let order = OrderRequest {
        symbol: quote.symbol,
        instrument: Instrument::Option {
            kind,
            strike: contract.strike,
            expiry,
        },
        side: ask.side,
        quantity,
        limit_price: (contract.mid() * 100.0).round() / 100.0,
    };
    let strategy = strategy_of(&ask);
    (
        State::Idle,
        vec![Effect::Request(Request::CheckRisk { order, strategy })],
    )
}

/// The strikes nearest the usual target: 5 % out of the money to sell, at the money to buy.
fn strikes(contracts: &[&&OptionContract], spot: f64, kind: OptionKind, side: Side) -> Vec<String> {
    let target = match (side, kind) {
        (Side::Buy, _) => spot,
        (Side::Sell, OptionKind::Put) => spot * 0.95,
        (Side::Sell, OptionKind::Call) => spot * 1.05,
    };
    let mut near: Vec<f64> = contracts.iter().map(|c| c.strike).collect();
    near.sort_by(|a, b| (a - target).abs().total_cmp(&(b - target).abs()));
    near.truncate(STRIKES_OFFERED);
    near.sort_by(f64::total_cmp);
    near.iter().map(|k| format!("{k}")).collect()
}

/// A typed answer to the detail asked. `None`: not an answer (the caller tries other intents).
pub(crate) fn on_text(state: State, input: &str) -> Option<(State, Vec<Effect>)> {
    let State::AwaitingTradeDetail { detail, offered, .. } = &state else {
        return None;
    };
    let text = menu::normalise(input);
    let value = match detail {
        Detail::Expiry => {
            let options: Vec<Vec<String>> = offered.iter().map(|d| expiry_names(d)).collect();
            match menu::pick(input, &options) {
                Some(i) => offered[i].clone(),
                None => NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()?.to_string(),
            }
        }
        Detail::Strike => {
            let n: f64 = text.trim_start_matches('$').parse().ok()?;
            match n as usize {
                i if n.fract() == 0.0 && (1..=offered.len()).contains(&i) => offered[i - 1].clone(),
                _ => format!("{n}"),
            }
        }
        Detail::Quantity => {
            let n: u32 = text
                .trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == ' ')
                .parse()
                .ok()?;
            n.to_string()
        }
    };
    let detail = *detail;
    Some(fill(state, detail, &value))
}

fn expiry_names(iso: &str) -> Vec<String> {
    let mut names = vec![iso.to_owned()];
    if let Ok(d) = NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        names.push(d.format("%b %-d").to_string().to_lowercase());
        names.push(d.format("%B %-d").to_string().to_lowercase());
        names.push(d.format("%-d %b").to_string().to_lowercase());
        names.push(d.format("%-m/%-d").to_string());
    }
    names
}

/// `pick:<detail>:<value>`. `Err` gives the state back when the button is stale.
pub(crate) fn on_pick(state: State, rest: &str) -> Result<(State, Vec<Effect>), State> {
    let Some((code, value)) = rest.split_once(':') else {
        return Err(state);
    };
    match &state {
        State::AwaitingTradeDetail { detail, .. } if detail.code() == code => {
            let detail = *detail;
            Ok(fill(state, detail, value))
        }
        _ => Err(state),
    }
}

/// Fills `detail` with `value` (validated here, and against the chain next), then continues.
fn fill(state: State, detail: Detail, value: &str) -> (State, Vec<Effect>) {
    let State::AwaitingTradeDetail { mut ask, offered, .. } = state else {
        return (state, vec![]);
    };
    let retry = |ask: TradeAsk, why: &str| ask_for(ask, detail, offered.clone(), why);
    match detail {
        Detail::Expiry => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            Ok(d) => ask.expiry = Some(d),
            Err(_) => return retry(ask, "That isn't a date. "),
        },
        Detail::Strike => match value.parse::<f64>() {
            Ok(k) if k.is_finite() && k > 0.0 => ask.strike = Some(k),
            _ => return retry(ask, "That isn't a strike. "),
        },
        Detail::Quantity => {
            let max = if ask.option.is_some() {
                MAX_CONTRACTS
            } else {
                MAX_SHARES
            };
            match value.parse::<u32>() {
                Ok(q) if (1..=max).contains(&q) => ask.quantity = Some(q),
                _ => return retry(ask, &format!("Send a whole number from 1 to {max}. ")),
            }
        }
    }
    start(State::Idle, ask)
}

/// Re-asks the pending detail after input that answered nothing.
pub(crate) fn reprompt(state: State) -> (State, Vec<Effect>) {
    match state {
        State::AwaitingTradeDetail { ask, detail, offered } => {
            ask_for(ask, detail, offered, "I didn't get that. ")
        }
        other => (other, vec![]),
    }
}
