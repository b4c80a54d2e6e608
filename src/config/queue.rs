//! `[queue]`: the job runtime's lanes, attempts, backoff, leases and deduplication.

use std::time::Duration;

use serde::Deserialize;
use workers::QueueConfig;

use super::{ConfigError, invalid};

/// `[queue]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// Share of the `high` lane when all lanes are backlogged.
    pub weight_high: u32,
    /// Share of the `normal` lane.
    pub weight_normal: u32,
    /// Share of the `low` lane.
    pub weight_low: u32,
    /// Attempts before a failing job is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay bound, ms (doubles per attempt, full jitter).
    pub backoff_base_ms: u64,
    /// Largest retry delay bound, ms.
    pub backoff_cap_ms: u64,
    /// Lease length, ms: a job whose consumer stops heartbeating runs again after this.
    pub lease_ms: u64,
    /// Heartbeat period, ms (at most half of `lease_ms`).
    pub heartbeat_ms: u64,
    /// How long an update_id is remembered for deduplication, hours (at least 24).
    pub dedupe_window_hours: u64,
    /// Most jobs leased or acknowledged per round trip.
    pub batch_size: usize,
    /// Longest a job attempt may run, seconds, before it is cancelled and retried.
    pub job_timeout_secs: u64,
    /// Longest `RetryAfter` may defer a job from its first attempt, seconds.
    pub max_defer_secs: u64,
    /// Days a dead letter is kept in Redis.
    pub dead_letter_ttl_days: u64,
}

impl QueueSettings {
    /// The runtime's configuration.
    pub fn to_config(&self) -> QueueConfig {
        QueueConfig {
            weights: [self.weight_high, self.weight_normal, self.weight_low],
            max_attempts: self.max_attempts,
            backoff_base: Duration::from_millis(self.backoff_base_ms),
            backoff_cap: Duration::from_millis(self.backoff_cap_ms),
            lease_duration: Duration::from_millis(self.lease_ms),
            heartbeat_interval: Duration::from_millis(self.heartbeat_ms),
            dedupe_window: Duration::from_secs(self.dedupe_window_hours.saturating_mul(3600)),
            batch_size: self.batch_size,
            job_timeout: Duration::from_secs(self.job_timeout_secs),
            max_defer: Duration::from_secs(self.max_defer_secs),
            dead_letter_ttl: Duration::from_secs(self.dead_letter_ttl_days.saturating_mul(24 * 3600)),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.dedupe_window_hours < 24 {
            // Telegram keeps undelivered updates 24 h and delivers them again: a shorter window
            // would let a redelivery through as a new update.
            return Err(invalid(
                "queue.dedupe_window_hours",
                "must be at least 24 (Telegram redelivers updates for 24 h)",
            ));
        }
        self.to_config().validate().map_err(|problem| {
            let key = match problem.field {
                "weights" => "queue.weight_high / weight_normal / weight_low",
                "max_attempts" => "queue.max_attempts",
                "backoff_base" => "queue.backoff_base_ms",
                "lease_duration" => "queue.lease_ms",
                "heartbeat_interval" => "queue.heartbeat_ms",
                "dedupe_window" => "queue.dedupe_window_hours",
                "batch_size" => "queue.batch_size",
                "job_timeout" => "queue.job_timeout_secs",
                "max_defer" => "queue.max_defer_secs",
                "dead_letter_ttl" => "queue.dead_letter_ttl_days",
                _ => "queue",
            };
            // The runtime names its own fields; say them as the keys an operator sets.
            let mut text = problem.problem.to_owned();
            for (field, key) in [
                ("lease_duration", "queue.lease_ms"),
                ("heartbeat_interval", "queue.heartbeat_ms"),
                ("backoff_base", "queue.backoff_base_ms"),
                ("backoff_cap", "queue.backoff_cap_ms"),
                ("dedupe_window", "queue.dedupe_window_hours"),
            ] {
                text = text.replace(field, key);
            }
            invalid(key, &text)
        })
    }
}
