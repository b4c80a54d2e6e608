//! `[store]`: the batched log writer, its Redis spool and retention periods.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// A batch is written when it has this many rows...
    pub batch_rows: usize,
    /// ...or when its oldest row has waited this long.
    pub flush_interval_ms: u64,
    /// Rows queued in memory between the callers and the writer; when full, callers wait.
    pub queue_rows: usize,
    /// Most rows the Redis spool holds while Postgres is down; past it the writer stops taking rows.
    pub spool_max_rows: u64,
    /// Batches written at once while Postgres is up (each on its own connection).
    pub write_concurrency: usize,
    /// A batch write that takes longer counts as "Postgres unreachable" and is spooled.
    pub write_timeout_ms: u64,
    /// Longest pause between attempts to reach Postgres again while spooling.
    pub retry_max_ms: u64,
    /// Days each table keeps its rows; 0 keeps them forever.
    pub retention_days: RetentionDays,
}

/// `[store.retention_days]`: days each table keeps its rows (0: forever).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionDays {
    /// `message_log`, by received_at.
    pub message_log: u32,
    /// `outbound_log`, by sent_at.
    pub outbound_log: u32,
    /// `conversation_transitions`, by at.
    pub conversation_transitions: u32,
    /// `job_attempts`, by finished_at.
    pub job_attempts: u32,
    /// `dead_letters` that were replayed or purged, by failed_at; open ones are kept.
    pub dead_letters: u32,
    /// `dead_letter_audit`, by at.
    pub dead_letter_audit: u32,
    /// `rate_limit_violations`, by at.
    pub rate_limit_violations: u32,
    /// `access_denied`, by at.
    pub access_denied: u32,
}

impl StoreSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=10_000).contains(&self.batch_rows) {
            return Err(invalid("store.batch_rows", "must be 1 to 10000"));
        }
        if self.flush_interval_ms == 0 {
            return Err(invalid("store.flush_interval_ms", "must be at least 1"));
        }
        if self.queue_rows < self.batch_rows {
            return Err(invalid("store.queue_rows", "must be at least store.batch_rows"));
        }
        if self.spool_max_rows < self.batch_rows as u64 {
            return Err(invalid(
                "store.spool_max_rows",
                "must be at least store.batch_rows",
            ));
        }
        if !(1..=16).contains(&self.write_concurrency) {
            return Err(invalid("store.write_concurrency", "must be 1 to 16"));
        }
        if self.write_timeout_ms < 100 {
            return Err(invalid("store.write_timeout_ms", "must be at least 100"));
        }
        if self.retry_max_ms < 10 {
            return Err(invalid("store.retry_max_ms", "must be at least 10"));
        }
        Ok(())
    }
}
