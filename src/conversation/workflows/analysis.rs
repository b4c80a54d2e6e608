//! Stock analysis: ticker (validated, asked again if unknown) → strategy buttons → analysis from
//! market data → hand-over to trade execution (risk checks, "Execute?").

use super::super::{
    commands::Command,
    effect::{Button, Effect, QuotePurpose, Reply, Request},
    event::Fetched,
    free_text,
    intent::{self, Intent, Parsed},
    menu,
    state::State,
    strategy::{Analysis, Strategy},
    views,
};
use crate::integrations::{IntegrationError, Quote};

fn strategy_keyboard() -> Vec<Vec<Button>> {
    let button = |s: Strategy| Button::new(s.label(), format!("strategy:{}", s.code()));
    vec![
        vec![button(Strategy::CashSecuredPut), button(Strategy::CoveredCall)],
        vec![button(Strategy::Wheel)],
    ]
}

/// Starts (or restarts) the analysis, with the ticker if the user already gave it.
pub(crate) fn start(state: &State, symbol: Option<String>) -> (State, Vec<Effect>) {
    let mut effects = Vec::new();
    if let Some(doing) = state.describe() {
        effects.push(Effect::send(format!("(Stopped {doing}.)")));
    }
    match symbol {
        Some(symbol) => effects.push(Effect::Request(Request::Quote {
            symbol,
            purpose: QuotePurpose::Ticker,
        })),
        None => effects.push(Effect::send(
            "Which stock? Send its ticker, e.g. AAPL. (/cancel to stop)",
        )),
    }
    (State::AwaitingTicker { tries: 0 }, effects)
}

/// Text while waiting for a ticker: a ticker or a company name ("apple"), else another intent.
pub(crate) fn on_ticker_text(state: State, input: &str) -> (State, Vec<Effect>) {
    let ask_quote = |state, symbol| {
        (
            state,
            vec![Effect::Request(Request::Quote {
                symbol,
                purpose: QuotePurpose::Ticker,
            })],
        )
    };
    match intent::parse(input) {
        // A bare ticker parses as a price request: here it answers "Which stock?".
        Some(Parsed {
            intent: Intent::Command(Command::Price(symbol)),
            guessed,
        }) => match guessed.first() {
            Some((typed, symbol)) => (state, vec![free_text::did_you_mean(typed, symbol, symbol)]),
            None => ask_quote(state, symbol),
        },
        Some(parsed) => free_text::on_intent(state, parsed),
        None => match super::super::commands::symbol(input) {
            Some(symbol) => ask_quote(state, symbol),
            None => (
                state,
                vec![Effect::send(
                    "That doesn't look like a ticker. Send a symbol like AAPL, or /cancel.",
                )],
            ),
        },
    }
}

/// The ticker's quote came back: valid, unknown, or market data unavailable.
pub(crate) fn on_ticker_quote(state: State, symbol: String, result: Fetched<Quote>) -> (State, Vec<Effect>) {
    let State::AwaitingTicker { tries } = state else {
        return (state, vec![]);
    };
    match result {
        Ok(quote) => {
            let reply = Reply::text(format!(
                "{} is at {} ({} today). {}",
                quote.symbol,
                super::super::text::money(quote.price),
                super::super::text::pct(quote.change_pct()),
                strategy_question()
            ))
            .with_keyboard(strategy_keyboard());
            (
                State::AwaitingStrategy {
                    symbol: quote.symbol,
                    price: quote.price,
                },
                vec![Effect::Send(reply)],
            )
        }
        Err(IntegrationError::UnknownSymbol(_)) => {
            let reply = match intent::suggest_symbol(&symbol) {
                Some(near) if near != symbol => free_text::did_you_mean(&symbol, &near, &near),
                _ => Effect::send(format!(
                    "I don't know the ticker {symbol}. Send another one (e.g. AAPL, MSFT), or /cancel."
                )),
            };
            (
                State::AwaitingTicker {
                    tries: tries.saturating_add(1),
                },
                vec![reply],
            )
        }
        Err(e) => (
            State::AwaitingTicker { tries },
            vec![Effect::send(format!(
                "{} I couldn't check {symbol}; send it again in a minute, or /cancel.",
                views::unavailable(&e)
            ))],
        ),
    }
}

/// The strategy menu's entries, in button order, with the names people type for them.
fn strategy_options() -> Vec<Vec<String>> {
    Strategy::ALL
        .iter()
        .map(|s| {
            menu::names(match s {
                Strategy::CashSecuredPut => &[
                    "csp",
                    "cash secured put",
                    "cash-secured put",
                    "put",
                    "puts",
                    "sell puts",
                ],
                Strategy::CoveredCall => &["cc", "covered call", "covered calls", "call", "calls"],
                Strategy::Wheel => &["wheel", "wheel strategy", "the wheel"],
            })
        })
        .collect()
}

/// The strategy question, numbered so a typed "1" is obvious.
fn strategy_question() -> String {
    let list: Vec<String> = Strategy::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}) {}", i + 1, s.label()))
        .collect();
    format!("Which strategy? {}", list.join(" "))
}

/// Text while waiting for a strategy: its number or name. `Err` gives the state back when the
/// text is not a strategy.
pub(crate) fn on_strategy_text(state: State, input: &str) -> Result<(State, Vec<Effect>), State> {
    let State::AwaitingStrategy { symbol, .. } = &state else {
        return Err(state);
    };
    match menu::pick(input, &strategy_options()) {
        Some(i) => {
            let symbol = symbol.clone();
            let strategy = Strategy::ALL[i];
            Ok((
                state,
                vec![Effect::Request(Request::Analyse { symbol, strategy })],
            ))
        }
        None => Err(state),
    }
}

/// The strategy buttons again, after text that chose none.
pub(crate) fn reprompt_strategy(state: State) -> (State, Vec<Effect>) {
    (
        state,
        vec![Effect::Send(
            Reply::text(format!(
                "{} — tap one or type its number or name, or /cancel.",
                strategy_question()
            ))
            .with_keyboard(strategy_keyboard()),
        )],
    )
}

/// A strategy button. `Err` gives the state back when the button is stale.
pub(crate) fn on_strategy_button(
    state: State,
    code: &str,
    message_id: Option<i64>,
) -> Result<(State, Vec<Effect>), State> {
    let (State::AwaitingStrategy { symbol, .. }, Some(strategy)) = (&state, Strategy::parse(code)) else {
        return Err(state);
    };
    let symbol = symbol.clone();
    let mut effects = Vec::new();
    if let Some(message_id) = message_id {
        // Replace the buttons with the choice, so they cannot be tapped twice.
        effects.push(Effect::Edit {
            message_id,
            reply: Reply::text(format!("{symbol}: {} ✓ — analysing…", strategy.label())),
        });
    }
    effects.push(Effect::Request(Request::Analyse { symbol, strategy }));
    Ok((state, effects))
}

/// The analysis came back: show it and check the trade's risk, or explain why not.
pub(crate) fn on_analysis(
    state: State,
    strategy: Strategy,
    result: Fetched<Analysis>,
) -> (State, Vec<Effect>) {
    if !matches!(state, State::AwaitingStrategy { .. }) {
        return (state, vec![]);
    }
    match result {
        Ok(analysis) => {
            let order = analysis.order.clone();
            (
                state,
                vec![
                    views::analysis(&analysis),
                    Effect::Request(Request::CheckRisk {
                        order,
                        strategy: Some(strategy),
                    }),
                ],
            )
        }
        Err(e) => (
            state,
            vec![Effect::Send(
                Reply::text(format!(
                    "{} The analysis needs live prices; tap a strategy again in a minute, or /cancel.",
                    views::unavailable(&e)
                ))
                .with_keyboard(strategy_keyboard()),
            )],
        ),
    }
}
