//! Telegram's 429 pauses into the Postgres record (`rate_limit_violations`, scope
//! `telegram_429`), through the batched log writer, so a send never waits on Postgres.

use crate::{
    store::{self, LogWriter},
    telegram::{PauseSink, TelegramPause},
};

/// Scope of a Telegram 429 in `rate_limit_violations`.
pub const TELEGRAM_429_SCOPE: &str = "telegram_429";

/// A [`PauseSink`] that records each pause as a log row.
pub(crate) struct RecordedPauses {
    log: LogWriter,
}

impl RecordedPauses {
    pub(crate) fn new(log: LogWriter) -> Self {
        Self { log }
    }
}

impl PauseSink for RecordedPauses {
    fn record(&self, pause: TelegramPause) {
        let row = store::RateLimitViolation {
            log_key: store::new_log_key(),
            at: chrono::Utc::now(),
            scope: TELEGRAM_429_SCOPE.to_owned(),
            chat_id: pause.chat_id,
            method: Some(pause.method),
            retry_after_ms: Some(pause.retry_after.as_millis() as i64),
            detail: Some(if pause.chat_id.is_some() {
                "Telegram answered 429; the chat is paused for every worker".to_owned()
            } else {
                "Telegram answered 429 on a call with no chat; every chat is paused".to_owned()
            }),
        };
        // `record` may wait while the spool is full; the send must not.
        let log = self.log.clone();
        tokio::spawn(async move { log.record(row).await });
    }
}
