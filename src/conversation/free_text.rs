//! Free text: the answer a waiting state expects, else an intent (the same effects as its
//! command), else "Did you mean…?" for a misspelt ticker, else a short pointer to /help.

use super::{
    commands::Command,
    effect::{Button, Effect, Reply, Request},
    intent::{self, Intent, Parsed},
    state::State,
    step::run_command,
    workflows::{analysis, guided, trade},
};

/// Callback data prefix of a "Did you mean…?" button: `say:<canonical phrase>`, handled as if typed.
pub(crate) const SAY: &str = "say:";

/// Text in any state.
pub(crate) fn on_text(state: State, input: &str) -> (State, Vec<Effect>) {
    match state {
        State::AwaitingTicker { .. } => analysis::on_ticker_text(state, input),
        State::AwaitingStrategy { .. } => match analysis::on_strategy_text(state, input) {
            Ok(next) => next,
            Err(state) => otherwise(state, input, analysis::reprompt_strategy),
        },
        State::AwaitingConfirmation { .. } => match trade::on_confirmation_text(state, input) {
            Ok(next) => next,
            Err(state) => otherwise(state, input, trade::reprompt_confirmation),
        },
        State::AwaitingTradeDetail { .. } => match guided::on_text(state.clone(), input) {
            Some(next) => next,
            None => otherwise(state, input, guided::reprompt),
        },
        State::Idle => match intent::parse(input) {
            Some(parsed) => on_intent(state, parsed),
            None => match menu_number(input) {
                Some(command) => run_command(state, command),
                // Whether a language model is configured is the worker's business: it answers
                // "not understood" itself when none is.
                None => (
                    state,
                    vec![Effect::Request(Request::Understand {
                        text: input.to_owned(),
                    })],
                ),
            },
        },
    }
}

/// Input that is not the waiting state's answer: an intent if it is one, else `reprompt`.
fn otherwise(state: State, input: &str, reprompt: fn(State) -> (State, Vec<Effect>)) -> (State, Vec<Effect>) {
    match intent::parse(input) {
        Some(parsed) => on_intent(state, parsed),
        None => reprompt(state),
    }
}

/// Runs an intent as its command would, or asks first when a ticker was guessed from a typo.
pub(crate) fn on_intent(state: State, parsed: Parsed) -> (State, Vec<Effect>) {
    if let Some((typed, symbol)) = parsed.guessed.first() {
        return (state, vec![did_you_mean(typed, symbol, &parsed.intent.phrase())]);
    }
    match parsed.intent {
        Intent::Command(command) => run_command(state, command),
        Intent::Trade(ask) => guided::start(state, ask),
    }
}

/// "Did you mean NVDA?" with a button that sends `phrase` as if typed.
pub(crate) fn did_you_mean(typed: &str, symbol: &str, phrase: &str) -> Effect {
    let data = format!("{SAY}{phrase}");
    let text = format!("I don't know \u{201c}{typed}\u{201d}. Did you mean {symbol}?");
    // Telegram's callback data holds 64 bytes; canonical phrases stay well under.
    if data.len() > 64 {
        return Effect::send(format!("{text} Send it again with the ticker."));
    }
    Effect::Send(Reply::text(text).with_keyboard(vec![vec![
        Button::new(format!("✅ {symbol}"), data),
        Button::new("✖️ No", "dym:no"),
    ]]))
}

/// The /start menu's entries by number ("1" … "5"), in button order.
fn menu_number(input: &str) -> Option<Command> {
    let entries = [
        Command::Analyze(None),
        Command::Portfolio,
        Command::Alerts,
        Command::Status,
        Command::Help,
    ];
    let options: Vec<Vec<String>> = entries.iter().map(|_| Vec::new()).collect();
    super::menu::pick(input, &options).map(|i| entries[i].clone())
}

/// The reply to a ticker the market does not know: "Did you mean…?" when one is near, where
/// `rephrase` makes the request again with the suggested ticker.
pub(crate) fn unknown_ticker(typed: &str, rephrase: impl FnOnce(&str) -> String) -> Effect {
    match intent::suggest_symbol(typed) {
        Some(symbol) if symbol != typed => did_you_mean(typed, &symbol, &rephrase(&symbol)),
        _ => Effect::send(format!(
            "I don't know the ticker {typed}. Check the symbol, e.g. AAPL."
        )),
    }
}
