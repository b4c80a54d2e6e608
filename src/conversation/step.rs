//! `step(state, event) -> (state, effects)`: the whole conversation logic, pure.
//!
//! Global rules first (/cancel from anywhere, deadlines, media AVA cannot read, callbacks always
//! answered), then commands, then the workflows in `workflows/`, then answers to requests.

use super::{
    commands::{self, Command},
    effect::{Effect, QuotePurpose, Reply, Request, SeriesPurpose},
    event::{Event, Media},
    state::State,
    text, views,
    workflows::{analysis, trade},
};

/// Advances a conversation by one event.
pub fn step(state: State, event: Event) -> (State, Vec<Effect>) {
    match event {
        Event::Command { name, args } => on_command(state, &name, &args),
        Event::Text(text) => on_text(state, &text),
        Event::Callback { id, data, message_id } => on_callback(state, id, &data, message_id),
        Event::Unsupported(media) => {
            let mut reply = unsupported(media);
            if let Some(doing) = state.describe() {
                reply.push_str(&format!("\n\nStill open: {doing}. /cancel stops it."));
            }
            (state, vec![Effect::send(reply)])
        }
        Event::TimedOut { after_secs } => match state.describe() {
            Some(doing) => (
                State::Idle,
                vec![Effect::send(format!(
                    "⏱ No answer for {}, so I stopped {doing}. Start again any time.",
                    duration_words(after_secs)
                ))],
            ),
            None => (state, vec![]),
        },
        answer => on_answer(state, answer),
    }
}

fn on_command(state: State, name: &str, args: &str) -> (State, Vec<Effect>) {
    let command = match commands::parse(name, args) {
        Ok(command) => command,
        Err(usage) => return (state, vec![Effect::send(usage)]),
    };
    let request = |r: Request| (state.clone(), vec![Effect::Request(r)]);
    match command {
        Command::Cancel => cancel(state),
        Command::Start => (
            state,
            vec![Effect::Send(
                Reply::text(text::WELCOME).with_keyboard(text::menu()),
            )],
        ),
        Command::Help => (state, vec![Effect::send(text::HELP)]),
        Command::Status => request(Request::Status),
        Command::Stats => request(Request::Stats),
        Command::Portfolio => request(Request::Portfolio),
        Command::Price(symbol) => request(Request::Quote {
            symbol,
            purpose: QuotePurpose::Show,
        }),
        Command::History(symbol, days) => request(Request::Series {
            symbol,
            days,
            purpose: SeriesPurpose::History,
        }),
        Command::Trend(symbol, days) => request(Request::Series {
            symbol,
            days,
            purpose: SeriesPurpose::Trend,
        }),
        Command::Compare(symbols) => request(Request::Compare { symbols, days: 30 }),
        Command::Alert(symbol, direction, price) => request(Request::SetAlert {
            symbol,
            direction,
            price,
        }),
        Command::Alerts => request(Request::ListAlerts),
        Command::Analyze(symbol) => analysis::start(&state, symbol),
        Command::Buy(symbol, quantity) => trade::start_buy(state, symbol, quantity),
        Command::Unknown(name) => (
            state,
            vec![Effect::send(format!(
                "I don't know /{name}. /help lists what I can do."
            ))],
        ),
    }
}

fn on_text(state: State, input: &str) -> (State, Vec<Effect>) {
    match state {
        State::AwaitingTicker { .. } => analysis::on_ticker_text(state, input),
        State::AwaitingStrategy { .. } => analysis::on_strategy_text(state, input),
        State::AwaitingConfirmation { .. } => trade::on_confirmation_text(state, input),
        State::Idle => {
            let lower = input.to_lowercase();
            if lower.contains("analyze") || lower.contains("analyse") || lower.contains("analysis") {
                // "analyze AAPL" carries its ticker; "analyze a stock" does not.
                let ticker = input
                    .split_whitespace()
                    .skip_while(|w| !w.to_lowercase().starts_with("analy"))
                    .nth(1)
                    .filter(|w| w.len() <= 6 && w.chars().all(|c| c.is_ascii_uppercase() || c == '$'))
                    .and_then(commands::symbol);
                analysis::start(&state, ticker)
            } else {
                (state, vec![Effect::send(text::DONT_UNDERSTAND)])
            }
        }
    }
}

fn on_callback(state: State, id: String, data: &str, message_id: Option<i64>) -> (State, Vec<Effect>) {
    let answer = |text: Option<&str>| Effect::AnswerCallback {
        callback_id: id.clone(),
        text: text.map(str::to_owned),
    };
    let (prefix, rest) = data.split_once(':').unwrap_or((data, ""));
    let (state, mut effects) = match (prefix, rest) {
        ("menu", "analyze") => analysis::start(&state, None),
        ("menu", "portfolio") => (state, vec![Effect::Request(Request::Portfolio)]),
        ("menu", "alerts") => (state, vec![Effect::Request(Request::ListAlerts)]),
        ("menu", "status") => (state, vec![Effect::Request(Request::Status)]),
        ("menu", "help") => (state, vec![Effect::send(text::HELP)]),
        ("strategy", code) => match analysis::on_strategy_button(state, code, message_id) {
            Ok(next) => next,
            Err(state) => {
                return (
                    state,
                    vec![answer(Some(
                        "That question has expired. Start again with /analyze.",
                    ))],
                );
            }
        },
        ("confirm", rest) => match trade::on_confirm_button(state, rest, message_id) {
            Ok(next) => next,
            Err(state) => {
                // The double tap lands here: the first tap already handled this confirmation.
                return (
                    state,
                    vec![answer(Some(
                        "Already handled or expired: nothing more was placed.",
                    ))],
                );
            }
        },
        ("alert", rest) => match rest
            .split_once(':')
            .and_then(|(op, id)| Some((op, id.parse::<i64>().ok()?)))
        {
            Some(("del", id)) => (state, vec![Effect::Request(Request::DeleteAlert { id })]),
            Some(("rearm", id)) => (state, vec![Effect::Request(Request::RearmAlert { id })]),
            _ => return (state, vec![answer(Some("This button is no longer active."))]),
        },
        _ => return (state, vec![answer(Some("This button is no longer active."))]),
    };
    // Answer first, so the button stops spinning before slower work.
    effects.insert(0, answer(None));
    (state, effects)
}

fn cancel(state: State) -> (State, Vec<Effect>) {
    match state.describe() {
        Some(doing) => (
            State::Idle,
            vec![Effect::send(format!("Cancelled {doing}. Nothing was placed."))],
        ),
        None => (
            State::Idle,
            vec![Effect::send("Nothing to cancel. /help shows what I can do.")],
        ),
    }
}

fn on_answer(state: State, event: Event) -> (State, Vec<Effect>) {
    match event {
        Event::Quote {
            purpose: QuotePurpose::Ticker,
            symbol,
            result,
        } => analysis::on_ticker_quote(state, symbol, result),
        Event::Quote {
            purpose: QuotePurpose::Show,
            result,
            ..
        } => (state, vec![views::price(result)]),
        Event::Series {
            purpose,
            symbol,
            days,
            result,
        } => (state, vec![views::series(purpose, &symbol, days, result)]),
        Event::Comparison { days, rows } => (state, vec![views::comparison(days, &rows)]),
        Event::Analysis { strategy, result } => analysis::on_analysis(state, strategy, result),
        Event::RiskChecked {
            order,
            key,
            strategy,
            result,
        } => trade::on_risk_checked(state, order, key, strategy, result),
        Event::OrderPlaced { result } => trade::on_order_placed(state, result),
        Event::Portfolio { result } => (state, vec![views::portfolio(result)]),
        Event::AlertSaved { result } => (state, vec![views::alert_saved(result)]),
        Event::Alerts { result } => (state, vec![views::alerts(result)]),
        Event::AlertChanged { change } => (state, vec![views::alert_changed(&change)]),
        Event::Status { services } => {
            let reply = views::status(&state, &services);
            (state, vec![reply])
        }
        Event::Stats { rows } => {
            let lines: Vec<String> = rows.iter().map(|(what, n)| format!("{what}: {n}")).collect();
            (
                state,
                vec![Effect::send(format!("📊 Last 24 hours\n{}", lines.join("\n")))],
            )
        }
        // User input is handled in `step`; listed so a new event kind cannot be forgotten.
        Event::Command { .. }
        | Event::Text(_)
        | Event::Callback { .. }
        | Event::Unsupported(_)
        | Event::TimedOut { .. } => (state, vec![]),
    }
}

fn unsupported(media: Media) -> String {
    let what = match media {
        Media::Voice => "voice messages",
        Media::Photo => "photos",
        Media::Sticker => "stickers",
        Media::File => "files",
        Media::Video => "videos",
        Media::Other => "this kind of message",
    };
    format!(
        "Sorry, I can't read {what}. I understand text: commands like /price AAPL, or \"analyze a stock\". /help lists everything."
    )
}

fn duration_words(secs: u64) -> String {
    match secs {
        s if s % 60 == 0 && s >= 60 => {
            let m = s / 60;
            format!("{m} minute{}", if m == 1 { "" } else { "s" })
        }
        s => format!("{s} seconds"),
    }
}
