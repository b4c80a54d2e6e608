//! What AVA says and does in a chat: a pure state machine, `step(state, event) -> (state, effects)`.
//!
//! No I/O here. The worker turns updates into [`Event`]s, stores the [`State`] per chat, and
//! carries out the [`Effect`]s: Telegram calls, and [`Request`]s whose results it feeds back as
//! the next event (quotes, analysis, risk checks, orders, alerts).

pub mod alerts;
pub mod commands;
mod effect;
mod event;
mod free_text;
pub mod intent;
mod menu;
pub mod nlu;
pub mod risk;
mod state;
mod step;
pub mod strategy;
pub mod text;
mod views;
pub mod voice;
mod workflows;

#[cfg(test)]
mod intent_flow_test;
#[cfg(test)]
mod table_test;

pub use alerts::{Alert, AlertChange, Direction};
pub use effect::{Button, Effect, QuotePurpose, Reply, Request, SeriesPurpose};
pub use event::{Event, Fetched, Media, PortfolioView};
pub use state::{Detail, Proposal, State};
pub use step::step;
pub use strategy::{Analysis, Strategy};
pub use text::money;
pub use voice::VoiceFailure;

/// The command name of `/name@bot args`, without the slash and the bot mention.
pub fn command_of(text: &str) -> Option<&str> {
    let first = text.split_whitespace().next()?.strip_prefix('/')?;
    let name = first.split('@').next().unwrap_or(first);
    (!name.is_empty()).then_some(name)
}

/// The event for a text message, or `None` when it is a command for another bot.
/// `bot_username` (without `@`, may be empty) is how groups address this bot: `/price@ava_bot`.
pub fn text_event(text: &str, bot_username: &str) -> Option<Event> {
    let trimmed = text.trim();
    let Some(first) = trimmed
        .split_whitespace()
        .next()
        .and_then(|w| w.strip_prefix('/'))
    else {
        return Some(Event::Text(trimmed.to_owned()));
    };
    let (name, mention) = first.split_once('@').unwrap_or((first, ""));
    if !mention.is_empty() && !bot_username.is_empty() && !mention.eq_ignore_ascii_case(bot_username) {
        return None;
    }
    if name.is_empty() {
        return Some(Event::Text(trimmed.to_owned()));
    }
    let args = trimmed[1 + first.len()..].trim().to_owned();
    Some(Event::Command {
        name: name.to_lowercase(),
        args,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_with_or_without_bot_mention() {
        assert_eq!(command_of("/start"), Some("start"));
        assert_eq!(command_of("/help@ava_bot now"), Some("help"));
        assert_eq!(command_of("hello"), None);
        assert_eq!(command_of("/"), None);
    }

    #[test]
    fn group_commands_for_other_bots_are_ignored() {
        let cmd = |name: &str, args: &str| {
            Some(Event::Command {
                name: name.into(),
                args: args.into(),
            })
        };
        assert_eq!(
            text_event("/alerts@ava_wheel_bot list", "ava_wheel_bot"),
            cmd("alerts", "list")
        );
        assert_eq!(
            text_event("/Price@AVA_wheel_bot aapl", "ava_wheel_bot"),
            cmd("price", "aapl")
        );
        assert_eq!(text_event("/price@other_bot AAPL", "ava_wheel_bot"), None);
        assert_eq!(text_event("/price@other_bot AAPL", ""), cmd("price", "AAPL"));
        assert_eq!(
            text_event(" analyze a stock ", ""),
            Some(Event::Text("analyze a stock".into()))
        );
    }
}
