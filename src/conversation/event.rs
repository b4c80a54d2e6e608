//! What happens to a conversation: the user's input, a deadline, or the answer to a request.

use serde::{Deserialize, Serialize};

use super::{
    alerts::{Alert, AlertChange},
    effect::{QuotePurpose, SeriesPurpose},
    risk::RiskReport,
    strategy::{Analysis, Strategy},
};
use crate::integrations::{
    Account, IntegrationError, OrderReceipt, OrderRequest, Position, PricePoint, Quote, ServiceHealth,
};

/// A message kind AVA cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Media {
    /// Voice or audio.
    Voice,
    /// Photo.
    Photo,
    /// Sticker.
    Sticker,
    /// Document or file.
    File,
    /// Video, video note or animation.
    Video,
    /// Anything else (location, contact, poll…).
    Other,
}

/// A result from an external service: the value, or why there is none.
pub type Fetched<T> = Result<T, IntegrationError>;

/// A portfolio as /portfolio shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioView {
    /// Balances.
    pub account: Account,
    /// Holdings.
    pub positions: Vec<Position>,
}

/// Input to [`super::step`]. Never stored: answers are fed back within the job that asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `/name args` (bot mention already stripped).
    Command {
        /// Lower-case command name.
        name: String,
        /// The rest of the line.
        args: String,
    },
    /// Free text.
    Text(String),
    /// An inline button was tapped.
    Callback {
        /// Callback query id, to answer.
        id: String,
        /// Button data.
        data: String,
        /// The message carrying the button, if accessible.
        message_id: Option<i64>,
    },
    /// Voice, photo, sticker, file…
    Unsupported(Media),
    /// The waiting state's deadline passed.
    TimedOut {
        /// The configured timeout, for the message.
        after_secs: u64,
    },
    /// Answer to `Request::Quote`.
    Quote {
        /// Why it was asked.
        purpose: QuotePurpose,
        /// Ticker asked.
        symbol: String,
        /// The quote.
        result: Fetched<Quote>,
    },
    /// Answer to `Request::Series`.
    Series {
        /// Why it was asked.
        purpose: SeriesPurpose,
        /// Ticker.
        symbol: String,
        /// Period in days.
        days: u32,
        /// Points, oldest first.
        result: Fetched<Vec<PricePoint>>,
    },
    /// Answer to `Request::Compare`.
    Comparison {
        /// Period in days.
        days: u32,
        /// Per symbol, its series.
        rows: Vec<(String, Fetched<Vec<PricePoint>>)>,
    },
    /// Answer to `Request::Analyse`.
    Analysis {
        /// Strategy asked.
        strategy: Strategy,
        /// The analysis.
        result: Fetched<Analysis>,
    },
    /// Answer to `Request::CheckRisk`.
    RiskChecked {
        /// The priced order.
        order: OrderRequest,
        /// Confirmation key minted for it.
        key: String,
        /// The strategy it came from.
        strategy: Option<Strategy>,
        /// Checks.
        result: Fetched<RiskReport>,
    },
    /// Answer to `Request::PlaceOrder`.
    OrderPlaced {
        /// The broker's receipt.
        result: Fetched<OrderReceipt>,
    },
    /// Answer to `Request::Portfolio`.
    Portfolio {
        /// The portfolio.
        result: Fetched<PortfolioView>,
    },
    /// Answer to `Request::SetAlert`.
    AlertSaved {
        /// The alert and the price when it was set.
        result: Fetched<(Alert, f64)>,
    },
    /// Answer to `Request::ListAlerts`.
    Alerts {
        /// The chat's alerts.
        result: Fetched<Vec<Alert>>,
    },
    /// Answer to `Request::DeleteAlert` / `RearmAlert`.
    AlertChanged {
        /// What changed.
        change: AlertChange,
    },
    /// Answer to `Request::Status`.
    Status {
        /// Breaker states.
        services: Vec<ServiceHealth>,
    },
    /// Answer to `Request::Stats`.
    Stats {
        /// (what, count) over the last 24 hours.
        rows: Vec<(String, i64)>,
    },
}

impl Event {
    /// Short stable name, for logs and transition records.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Command { .. } => "command",
            Event::Text(_) => "text",
            Event::Callback { .. } => "callback",
            Event::Unsupported(_) => "unsupported",
            Event::TimedOut { .. } => "timed_out",
            Event::Quote { .. } => "quote",
            Event::Series { .. } => "series",
            Event::Comparison { .. } => "comparison",
            Event::Analysis { .. } => "analysis",
            Event::RiskChecked { .. } => "risk_checked",
            Event::OrderPlaced { .. } => "order_placed",
            Event::Portfolio { .. } => "portfolio",
            Event::AlertSaved { .. } => "alert_saved",
            Event::Alerts { .. } => "alerts",
            Event::AlertChanged { .. } => "alert_changed",
            Event::Status { .. } => "status",
            Event::Stats { .. } => "stats",
        }
    }
}
