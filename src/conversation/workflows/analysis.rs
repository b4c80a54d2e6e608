//! Stock analysis: ticker (validated, asked again if unknown) → strategy buttons → analysis from
//! market data → hand-over to trade execution (risk checks, "Execute?").

use super::super::{
    effect::{Button, Effect, QuotePurpose, Reply, Request},
    event::Fetched,
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

/// Text while waiting for a ticker.
pub(crate) fn on_ticker_text(state: State, input: &str) -> (State, Vec<Effect>) {
    match super::super::commands::symbol(input) {
        Some(symbol) => (
            state,
            vec![Effect::Request(Request::Quote {
                symbol,
                purpose: QuotePurpose::Ticker,
            })],
        ),
        None => (
            state,
            vec![Effect::send(
                "That doesn't look like a ticker. Send a symbol like AAPL, or /cancel.",
            )],
        ),
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
                "{} is at {} ({} today). Which strategy?",
                quote.symbol,
                super::super::text::money(quote.price),
                super::super::text::pct(quote.change_pct())
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
        Err(IntegrationError::UnknownSymbol(_)) => (
            State::AwaitingTicker {
                tries: tries.saturating_add(1),
            },
            vec![Effect::send(format!(
                "I don't know the ticker {symbol}. Send another one (e.g. AAPL, MSFT), or /cancel."
            ))],
        ),
        Err(e) => (
            State::AwaitingTicker { tries },
            vec![Effect::send(format!(
                "{} I couldn't check {symbol}; send it again in a minute, or /cancel.",
                views::unavailable(&e)
            ))],
        ),
    }
}

/// Text while waiting for a strategy: accept its name, else show the buttons again.
pub(crate) fn on_strategy_text(state: State, input: &str) -> (State, Vec<Effect>) {
    let State::AwaitingStrategy { symbol, .. } = &state else {
        return (state, vec![]);
    };
    match Strategy::parse(input) {
        Some(strategy) => {
            let symbol = symbol.clone();
            (
                state,
                vec![Effect::Request(Request::Analyse { symbol, strategy })],
            )
        }
        None => (
            state,
            vec![Effect::Send(
                Reply::text("Pick a strategy with the buttons, or /cancel.")
                    .with_keyboard(strategy_keyboard()),
            )],
        ),
    }
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
