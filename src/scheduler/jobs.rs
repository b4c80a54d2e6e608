//! The jobs the scheduler enqueues, and the per-chat jobs they fan out to.

use serde::{Deserialize, Serialize};

/// Alert monitor: quotes alerted symbols and notifies crossed alerts.
pub const ALERT_MONITOR: &str = "alert_monitor";
/// Data collector: records quotes of watched symbols in `price_history`.
pub const DATA_COLLECTOR: &str = "data_collector";
/// Conversation timeout sweeper: fans due timers out to per-chat timeout jobs.
pub const TIMEOUT_SWEEP: &str = "conversation_timeout_sweep";
/// Retention clean-up of the log tables.
pub const RETENTION: &str = "retention";
/// Mirrors the Redis dead-letter queue into `dead_letters` (catches lease-expiry deaths).
pub const DEAD_LETTER_MIRROR: &str = "dead_letter_mirror";
/// One chat's conversation deadline passed (ordered with the chat's updates).
pub const CONVERSATION_TIMEOUT: &str = "conversation_timeout";
/// Tell one chat that its alert fired (ordered with the chat's updates).
pub const ALERT_NOTIFY: &str = "alert_notify";

/// Every job kind this module defines; the worker handles each.
pub const ALL: [&str; 7] = [
    ALERT_MONITOR,
    DATA_COLLECTOR,
    TIMEOUT_SWEEP,
    RETENTION,
    DEAD_LETTER_MIRROR,
    CONVERSATION_TIMEOUT,
    ALERT_NOTIFY,
];

/// Payload of a periodic job: the tick's time, so work is judged against it, not the clock at run time.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Tick {
    /// Tick time, ms since the epoch.
    pub at_ms: u64,
}

/// Payload of [`CONVERSATION_TIMEOUT`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Timeout {
    /// Chat.
    pub chat_id: i64,
    /// The deadline that passed; a newer deadline makes the job stale.
    pub deadline_ms: u64,
}

/// Payload of [`ALERT_NOTIFY`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertFired {
    /// Chat.
    pub chat_id: i64,
    /// Alert id.
    pub alert_id: i64,
    /// "AAPL > 200.00".
    pub label: String,
    /// Price that crossed.
    pub price: f64,
    /// `above` / `below`.
    pub direction: String,
}
