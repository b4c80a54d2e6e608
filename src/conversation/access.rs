//! Who may do what: the access rules, applied around [`step`], still pure.
//!
//! Before a step: a person outside the allowlist, a non-admin's operator command, and another
//! member's confirm, No or /cancel of someone else's trade are refused. After a step: a step that
//! asks to check or place an order is refused unless the person may trade and the chat is
//! private. Work without a person (timeouts, scheduled events) passes unchecked. A refusal
//! leaves the state as it was and says so in one short sentence.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{
    effect::{Effect, Request},
    event::Event,
    state::State,
    step::step,
};
use crate::{
    config::{AccessMode, AccessSettings},
    integrations::{Instrument, OrderRequest},
};

/// Commands only `access.admins` may use.
pub const ADMIN_COMMANDS: &[&str] = &["stats"];

/// The person behind an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Telegram user id.
    pub user_id: i64,
    /// @username without the `@`, if set.
    pub username: Option<String>,
    /// First name (always set by Telegram).
    pub first_name: String,
    /// Whether the update comes from the person's private chat with the bot.
    pub private_chat: bool,
}

impl Actor {
    /// How to name them to others: `@alice`, or their first name.
    pub fn handle(&self) -> String {
        match &self.username {
            Some(u) if !u.is_empty() => format!("@{u}"),
            _ => self.first_name.clone(),
        }
    }
}

/// Who started a trade: only they may confirm or cancel it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Starter {
    /// Telegram user id.
    pub user_id: i64,
    /// `@alice` or a first name, for "Only @alice can confirm this".
    pub handle: String,
}

/// What a refused person tried; the `action` label of `ava_access_denied_total` and the
/// `access_denied.action` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Anything, by someone not on the allowlist.
    View,
    /// Start a trade (or place one) without being a trader.
    Trade,
    /// Start a trade in a group.
    GroupTrade,
    /// Confirm, decline or cancel someone else's trade.
    Confirm,
    /// An operator command.
    Admin,
}

impl Attempt {
    /// Every attempt, for registering the metric's series at zero.
    pub const ALL: [Attempt; 5] = [
        Attempt::View,
        Attempt::Trade,
        Attempt::GroupTrade,
        Attempt::Confirm,
        Attempt::Admin,
    ];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Attempt::View => "view",
            Attempt::Trade => "trade",
            Attempt::GroupTrade => "group_trade",
            Attempt::Confirm => "confirm",
            Attempt::Admin => "admin",
        }
    }
}

/// A refusal: what was attempted and the one thing to tell the person.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    /// What they tried.
    pub attempt: Attempt,
    /// A message, or the toast answering their tap.
    pub reply: Effect,
}

/// The access settings in the shape the rules need.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    open: bool,
    traders: BTreeSet<i64>,
    admins: BTreeSet<i64>,
    viewers: BTreeSet<i64>,
    bot_username: String,
}

impl Policy {
    /// From `[access]` and `conversation.bot_username` (for deep links).
    pub fn new(access: &AccessSettings, bot_username: &str) -> Self {
        Self {
            open: access.mode == AccessMode::Open,
            traders: access.traders.clone(),
            admins: access.admins.clone(),
            viewers: access.viewers.clone(),
            bot_username: bot_username.to_owned(),
        }
    }

    fn may_view(&self, user: i64) -> bool {
        self.open
            || self.viewers.contains(&user)
            || self.traders.contains(&user)
            || self.admins.contains(&user)
    }

    fn may_trade(&self, user: i64) -> bool {
        self.open || self.traders.contains(&user)
    }

    fn is_admin(&self, user: i64) -> bool {
        self.admins.contains(&user)
    }
}

/// What a guarded step decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Guarded {
    /// The next state (the previous one when refused).
    pub state: State,
    /// What to do (without the refused request).
    pub effects: Vec<Effect>,
    /// Set when something was refused.
    pub denial: Option<Denial>,
}

/// [`step`] under `policy`, for `actor` (`None`: no person, e.g. a timeout).
pub fn guarded_step(policy: &Policy, actor: Option<&Actor>, state: State, event: Event) -> Guarded {
    let Some(actor) = actor else {
        let (state, effects) = step(state, event);
        return Guarded {
            state,
            effects,
            denial: None,
        };
    };
    let user_input = matches!(
        event,
        Event::Command { .. }
            | Event::Text(_)
            | Event::Callback { .. }
            | Event::Voice { .. }
            | Event::Unsupported(_)
    );
    let callback_id = match &event {
        Event::Callback { id, .. } => Some(id.clone()),
        _ => None,
    };
    let reply = |text: String| match &callback_id {
        Some(id) => Effect::AnswerCallback {
            callback_id: id.clone(),
            text: Some(text),
        },
        None => Effect::send(text),
    };
    let refuse = |state: State, attempt: Attempt, text: String| Guarded {
        state,
        effects: vec![],
        denial: Some(Denial {
            attempt,
            reply: reply(text),
        }),
    };
    if user_input && let Some((attempt, text)) = before(policy, actor, &state, &event) {
        return refuse(state, attempt, text);
    }
    let prior = state.clone();
    let (mut next, effects) = step(state, event);
    if let Some((attempt, text)) = trade_refusal(policy, actor, &effects) {
        // A refused command leaves whatever was in progress; a flow that led up to the trade
        // (an analysis) ends here, keeping what it showed.
        if user_input {
            return refuse(prior, attempt, text);
        }
        let shown = effects
            .into_iter()
            .filter(|e| matches!(e, Effect::Send(_) | Effect::Edit { .. }))
            .collect();
        return Guarded {
            state: State::Idle,
            effects: shown,
            denial: Some(Denial {
                attempt,
                reply: reply(text),
            }),
        };
    }
    // A new proposal remembers who asked for it.
    if let State::AwaitingConfirmation { proposal } = &mut next
        && proposal.starter.is_none()
    {
        proposal.starter = Some(Starter {
            user_id: actor.user_id,
            handle: actor.handle(),
        });
    }
    Guarded {
        state: next,
        effects,
        denial: None,
    }
}

/// Refusals decided by who asks, before the step runs.
fn before(policy: &Policy, actor: &Actor, state: &State, event: &Event) -> Option<(Attempt, String)> {
    if !policy.may_view(actor.user_id) {
        return Some((
            Attempt::View,
            format!(
                "Sorry, this bot is private. Your Telegram id is {}, if you want to ask its operator for access.",
                actor.user_id
            ),
        ));
    }
    if let Event::Command { name, .. } = event
        && ADMIN_COMMANDS.contains(&name.as_str())
        && !policy.is_admin(actor.user_id)
    {
        return Some((Attempt::Admin, format!("Sorry, /{name} is for operators only.")));
    }
    let State::AwaitingConfirmation { proposal } = state else {
        return None;
    };
    let decides = match event {
        Event::Callback { data, .. } => data.starts_with("confirm:"),
        // A voice "yes" is text once transcribed.
        Event::Text(_) | Event::Voice { .. } => true,
        Event::Command { name, .. } => matches!(name.as_str(), "cancel" | "stop"),
        _ => false,
    };
    let is_starter = match &proposal.starter {
        Some(starter) => starter.user_id == actor.user_id,
        // Saved before trades had starters: in a private chat the chat is its person's.
        None => actor.private_chat,
    };
    if !decides || is_starter {
        return None;
    }
    let who = proposal
        .starter
        .as_ref()
        .map_or_else(|| "the person who started it".to_owned(), |s| s.handle.clone());
    Some((Attempt::Confirm, format!("Only {who} can confirm this")))
}

/// Refusals decided by what the step asks for: checking or placing an order.
fn trade_refusal(policy: &Policy, actor: &Actor, effects: &[Effect]) -> Option<(Attempt, String)> {
    let order = effects.iter().find_map(|e| match e {
        Effect::Request(Request::CheckRisk { order, .. } | Request::PlaceOrder { order, .. }) => Some(order),
        _ => None,
    })?;
    if !policy.may_trade(actor.user_id) {
        return Some((
            Attempt::Trade,
            format!(
                "Sorry, you can't place orders here. Your Telegram id is {}, if you want to ask the operator to add you as a trader.",
                actor.user_id
            ),
        ));
    }
    if !actor.private_chat {
        let text = match deep_link(&policy.bot_username, order) {
            Some(link) => format!(
                "Orders are placed only in a private chat, so nobody else can confirm yours. Continue here: {link}"
            ),
            None => format!(
                "Orders are placed only in a private chat, so nobody else can confirm yours. Open a private chat with me and send /buy {} {}.",
                order.symbol, order.quantity
            ),
        };
        return Some((Attempt::GroupTrade, text));
    }
    None
}

/// `https://t.me/<bot>?start=buy-AAPL-1` (or `analyze-AAPL` for an option strategy), when the
/// bot's username is known. `/start` with that payload picks the trade up in the private chat.
pub fn deep_link(bot_username: &str, order: &OrderRequest) -> Option<String> {
    if bot_username.is_empty() {
        return None;
    }
    let payload = match order.instrument {
        Instrument::Stock => format!("buy-{}-{}", order.symbol, order.quantity),
        _ => format!("analyze-{}", order.symbol),
    };
    // Telegram allows 1-64 of A-Z a-z 0-9 _ - in a start parameter.
    let valid = payload.len() <= 64
        && payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let payload = if valid { payload } else { "trade".to_owned() };
    Some(format!("https://t.me/{bot_username}?start={payload}"))
}

#[cfg(test)]
mod metric_labels {
    use super::Attempt;

    #[test]
    fn every_attempt_has_its_access_denied_series_registered_at_zero() {
        let names: Vec<&str> = Attempt::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names, crate::ops::metrics::ACCESS_ACTIONS);
    }
}
