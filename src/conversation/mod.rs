//! What AVA says and does in a chat: a pure state machine, `step(state, event) -> (state, effects)`.
//!
//! No I/O here. The worker turns updates into [`Event`]s, stores the [`State`] per chat, and
//! carries out the [`Effect`]s: Telegram calls, and [`Request`]s whose results it feeds back as
//! the next event (quotes, analysis, risk checks, orders, alerts).

pub mod access;
pub mod alerts;
pub mod commands;
mod effect;
mod event;
pub mod risk;
mod state;
mod step;
pub mod strategy;
pub mod text;
mod views;
mod workflows;

#[cfg(test)]
mod access_test;
#[cfg(test)]
mod table_test;

pub use access::{Actor, Attempt, Denial, Guarded, Policy, Starter, guarded_step};
pub use alerts::{Alert, AlertChange, Direction};
pub use effect::{Button, Effect, QuotePurpose, Reply, Request, SeriesPurpose};
pub use event::{Event, Fetched, Media, PortfolioView};
pub use state::{Proposal, State};
pub use step::step;
pub use strategy::{Analysis, Strategy};
pub use text::money;

use crate::telegram::BotCommand;

/// The event for a text message, or `None` when it is a command for another bot.
/// `bot_username` (without `@`, may be empty) is how groups address this bot: `/price@ava_bot`.
pub fn text_event(text: &str, bot_username: &str) -> Option<Event> {
    let trimmed = text.trim();
    match BotCommand::parse(trimmed) {
        Some(command) if !command.is_for(bot_username) => None,
        Some(command) => Some(Event::Command {
            name: command.name,
            args: command.args.to_owned(),
        }),
        None => Some(Event::Text(trimmed.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_in_any_case_with_or_without_bot_mention() {
        let cmd = |text: &str| match text_event(text, "ava_bot") {
            Some(Event::Command { name, .. }) => Some(name),
            _ => None,
        };
        assert_eq!(cmd("/start").as_deref(), Some("start"));
        assert_eq!(cmd("/CANCEL").as_deref(), Some("cancel"));
        assert_eq!(cmd("/help@ava_bot now").as_deref(), Some("help"));
        assert_eq!(cmd("hello"), None);
        assert_eq!(cmd("/"), None);
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
