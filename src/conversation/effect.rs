//! What a step asks the worker to do: talk to Telegram, or answer a [`Request`] with an event.

use serde::{Deserialize, Serialize};

use super::{alerts::Direction, strategy::Strategy};
use crate::integrations::OrderRequest;

/// An inline keyboard button: label and callback data (Telegram allows 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// Label.
    pub text: String,
    /// Callback data.
    pub data: String,
}

impl Button {
    /// A button.
    pub fn new(text: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            data: data.into(),
        }
    }
}

/// A message to send or to edit into place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Text (HTML when `html`).
    pub text: String,
    /// Inline keyboard rows.
    pub keyboard: Option<Vec<Vec<Button>>>,
    /// Parse mode HTML (text escaped by whoever built it).
    pub html: bool,
}

impl Reply {
    /// Plain text.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            keyboard: None,
            html: false,
        }
    }

    /// HTML text.
    pub fn html(text: impl Into<String>) -> Self {
        Self {
            html: true,
            ..Self::text(text)
        }
    }

    /// With an inline keyboard.
    pub fn with_keyboard(mut self, rows: Vec<Vec<Button>>) -> Self {
        self.keyboard = Some(rows);
        self
    }
}

/// Why a quote is wanted; it decides what its answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuotePurpose {
    /// /price: show it.
    Show,
    /// Stock analysis: validate the ticker.
    Ticker,
}

/// Why a price series is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeriesPurpose {
    /// /history
    History,
    /// /trend
    Trend,
}

/// Data or an action the step needs; the worker answers each with one [`super::Event`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Latest quote → `Event::Quote`.
    Quote {
        /// Ticker.
        symbol: String,
        /// Why.
        purpose: QuotePurpose,
    },
    /// Price series → `Event::Series`.
    Series {
        /// Ticker.
        symbol: String,
        /// Period in days.
        days: u32,
        /// Why.
        purpose: SeriesPurpose,
    },
    /// Several series → `Event::Comparison`.
    Compare {
        /// Tickers.
        symbols: Vec<String>,
        /// Period in days.
        days: u32,
    },
    /// Options analysis → `Event::Analysis`.
    Analyse {
        /// Ticker.
        symbol: String,
        /// Strategy.
        strategy: Strategy,
    },
    /// Price the order, run risk checks, mint a confirmation key → `Event::RiskChecked`.
    CheckRisk {
        /// The order (a zero limit price means "at the market").
        order: OrderRequest,
        /// The strategy it came from, if any.
        strategy: Option<Strategy>,
    },
    /// Place the order once per key → `Event::OrderPlaced`.
    PlaceOrder {
        /// The order.
        order: OrderRequest,
        /// Idempotency key.
        key: String,
    },
    /// Balances and positions → `Event::Portfolio`.
    Portfolio,
    /// Validate and store an alert → `Event::AlertSaved`.
    SetAlert {
        /// Ticker.
        symbol: String,
        /// Above or below.
        direction: Direction,
        /// Threshold.
        price: f64,
    },
    /// The chat's alerts → `Event::Alerts`.
    ListAlerts,
    /// Delete one → `Event::AlertChanged`.
    DeleteAlert {
        /// Alert id.
        id: i64,
    },
    /// Re-arm a triggered one → `Event::AlertChanged`.
    RearmAlert {
        /// Alert id.
        id: i64,
    },
    /// External services' health → `Event::Status`.
    Status,
    /// Operator figures of the last day → `Event::Stats`.
    Stats,
}

/// One thing for the worker to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// sendMessage.
    Send(Reply),
    /// editMessageText of a message AVA sent (e.g. to remove spent buttons).
    Edit {
        /// Message to edit.
        message_id: i64,
        /// New content.
        reply: Reply,
    },
    /// answerCallbackQuery: stops the button's spinner, with an optional toast.
    AnswerCallback {
        /// Callback query id.
        callback_id: String,
        /// Toast text.
        text: Option<String>,
    },
    /// Data or an action whose result comes back as the next event.
    Request(Request),
}

impl Effect {
    /// Shorthand for a plain-text message.
    pub fn send(text: impl Into<String>) -> Self {
        Effect::Send(Reply::text(text))
    }
}
