//! Inbound rate-limit violations into the Postgres record (`rate_limit_violations`), through
//! the batched log writer, so the request path never waits on Postgres.

use super::{InboundViolation, ViolationSink};
use crate::store::{self, LogWriter};

/// Scope of an inbound per-user violation in `rate_limit_violations`.
pub const INBOUND_SCOPE: &str = "inbound_user";

/// A [`ViolationSink`] that records each violation as a log row.
pub struct RecordedViolations {
    log: LogWriter,
}

impl RecordedViolations {
    /// Records through `log`.
    pub fn new(log: LogWriter) -> Self {
        Self { log }
    }
}

impl ViolationSink for RecordedViolations {
    fn record(&self, v: InboundViolation) {
        let row = store::RateLimitViolation {
            // Keyed by the dropped update: a redelivery of it writes nothing twice.
            log_key: format!("inbound:{}", v.update_id),
            at: v.at,
            scope: INBOUND_SCOPE.to_owned(),
            chat_id: v.chat_id,
            method: None,
            retry_after_ms: None,
            detail: Some(format!(
                "user {} over the inbound limit; update {} ({}) dropped{}",
                v.user_id,
                v.update_id,
                v.kind,
                if v.notified { "; user told" } else { "" }
            )),
        };
        // `record` may wait while the spool is full; the request must not.
        let log = self.log.clone();
        tokio::spawn(async move { log.record(row).await });
    }
}
