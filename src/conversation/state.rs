//! Where a chat's conversation is. Each waiting variant carries what the next step needs.

use serde::{Deserialize, Serialize};

use super::{access::Starter, strategy::Strategy};
use crate::integrations::OrderRequest;

/// A chat's conversation state, stored per chat in Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Nothing in progress.
    #[default]
    Idle,
    /// Stock analysis, step 1: waiting for a ticker. `tries` counts unknown tickers so far.
    AwaitingTicker {
        /// Unknown tickers sent so far.
        tries: u8,
    },
    /// Stock analysis, step 2: waiting for a strategy button.
    AwaitingStrategy {
        /// Validated ticker.
        symbol: String,
        /// Its price when validated.
        price: f64,
    },
    /// A trade was previewed and passed risk checks; waiting for Yes or No.
    AwaitingConfirmation {
        /// What Yes places.
        proposal: Proposal,
    },
}

/// A trade waiting for confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// The order.
    pub order: OrderRequest,
    /// Idempotency key of this confirmation: every Yes for it places the same single order.
    pub key: String,
    /// The strategy it came from, if an analysis.
    pub strategy: Option<Strategy>,
    /// Who asked for it: only they may confirm or cancel it. Set by the access rules; absent in
    /// proposals saved before there were any.
    #[serde(default)]
    pub starter: Option<Starter>,
}

impl State {
    /// Whether the conversation waits for the user (and so has a deadline).
    pub fn is_waiting(&self) -> bool {
        !matches!(self, State::Idle)
    }

    /// Short stable name, for logs and transition records.
    pub fn name(&self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::AwaitingTicker { .. } => "awaiting_ticker",
            State::AwaitingStrategy { .. } => "awaiting_strategy",
            State::AwaitingConfirmation { .. } => "awaiting_confirmation",
        }
    }

    /// What is in progress, for /status and /cancel, e.g. "a stock analysis of AAPL (waiting for a strategy)".
    pub fn describe(&self) -> Option<String> {
        match self {
            State::Idle => None,
            State::AwaitingTicker { .. } => Some("a stock analysis (waiting for a ticker)".into()),
            State::AwaitingStrategy { symbol, .. } => {
                Some(format!("a stock analysis of {symbol} (waiting for a strategy)"))
            }
            State::AwaitingConfirmation { proposal } => Some(format!(
                "a trade waiting for your confirmation: {}",
                proposal.order.describe()
            )),
        }
    }
}
