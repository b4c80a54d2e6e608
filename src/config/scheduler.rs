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
    /// How often the Redis dead-letter queue is mirrored into `dead_letters`.
    pub dead_letter_mirror_secs: u64,
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
            ("scheduler.dead_letter_mirror_secs", self.dead_letter_mirror_secs),
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

#[cfg(test)]
mod tests {
    use figment::{
        Figment,
        providers::{Format, Serialized, Toml},
    };

    use crate::config::Settings;

    fn with(key: &str, value: impl serde::Serialize) -> String {
        let fig = Figment::from(Toml::string(super::super::DEFAULTS)).merge(Serialized::default(key, value));
        match Settings::from_figment(fig) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn conversation_integration_and_scheduler_keys_are_validated_by_name() {
        assert_eq!(with("conversation.timeout_secs", 600), "ok");
        for (key, bad) in [
            ("conversation.timeout_secs", serde_json::json!(0)),
            ("conversation.bot_username", serde_json::json!("@ava")),
            ("market_data.provider", serde_json::json!("yahoo")),
            ("market_data.breaker_failures", serde_json::json!(0)),
            ("broker.timeout_ms", serde_json::json!(0)),
            ("trading.max_position_share", serde_json::json!(1.5)),
            ("scheduler.alert_monitor_secs", serde_json::json!(0)),
            ("scheduler.tick_ms", serde_json::json!(60_000)),
        ] {
            let err = with(key, bad);
            assert!(err.contains(key), "{key}: {err}");
        }
        let err = with("market_data.provider", "http");
        assert!(err.contains("market_data.base_url"), "{err}");
    }
}
