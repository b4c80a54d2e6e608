//! `[scheduler]`: the leader lock and the periods of AVA's periodic jobs.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// `[scheduler]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Leader lease; a leader that stops renewing is replaced after this long.
    pub lease_secs: u64,
    /// How often the scheduler wakes up to renew its lease and enqueue due work.
    pub tick_ms: u64,
    /// Alert monitor period.
    pub alert_monitor_secs: u64,
    /// Data collector period.
    pub data_collector_secs: u64,
    /// Conversation timeout sweeper period.
    pub timeout_sweep_secs: u64,
    /// Retention clean-up period.
    pub retention_secs: u64,
    /// Symbols the data collector always records (alerted symbols are added).
    pub watchlist: Vec<String>,
}

impl SchedulerSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let periods = [
            ("scheduler.lease_secs", self.lease_secs),
            ("scheduler.tick_ms", self.tick_ms),
            ("scheduler.alert_monitor_secs", self.alert_monitor_secs),
            ("scheduler.data_collector_secs", self.data_collector_secs),
            ("scheduler.timeout_sweep_secs", self.timeout_sweep_secs),
            ("scheduler.retention_secs", self.retention_secs),
        ];
        for (key, value) in periods {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if self.tick_ms >= self.lease_secs * 1000 {
            return Err(invalid(
                "scheduler.tick_ms",
                "must be shorter than scheduler.lease_secs",
            ));
        }
        if self.watchlist.iter().any(|s| s.is_empty() || s.len() > 10) {
            return Err(invalid("scheduler.watchlist", "symbols must be 1-10 characters"));
        }
        Ok(())
    }
}
