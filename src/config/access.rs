//! `[access]`, `[admin]` and `[sentry]`: who may do what, the operator API's token, and the
//! error reporter's DSN; and the start-up rule that a live broker needs an allowlist.

use std::collections::BTreeSet;

use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{ConfigError, Secret, Settings, invalid};

/// `access.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessMode {
    /// Anyone may read and (paper-)trade; admins are still only those listed.
    Open,
    /// Only listed users: viewers read, traders trade, admins run operator commands.
    Allowlist,
}

/// `[access]`: Telegram user ids and what they may do.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSettings {
    /// `open` or `allowlist`.
    pub mode: AccessMode,
    /// Users who may place orders (and read).
    #[serde(default)]
    pub traders: BTreeSet<i64>,
    /// Users who may use operator commands such as `/stats` (and read).
    #[serde(default)]
    pub admins: BTreeSet<i64>,
    /// Users who may read prices, history and alerts (anyone in `open` mode).
    #[serde(default)]
    pub viewers: BTreeSet<i64>,
    /// A refused user is told at most once per this many seconds (refusals are still recorded).
    pub refusal_window_secs: u64,
}

impl AccessSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.refusal_window_secs == 0 {
            return Err(invalid("access.refusal_window_secs", "must be at least 1"));
        }
        for (key, ids) in [
            ("access.traders", &self.traders),
            ("access.admins", &self.admins),
            ("access.viewers", &self.viewers),
        ] {
            if ids.iter().any(|id| *id <= 0) {
                return Err(invalid(key, "Telegram user ids are positive integers"));
            }
        }
        Ok(())
    }
}

/// `[admin]`: the operator HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Bearer token of the admin API (environment or secret file only). Empty: the API is off.
    pub token: Secret,
}

impl AdminSettings {
    /// Whether `presented` is the admin token. Constant time in the token's content, so timing
    /// cannot reveal it byte by byte; an unset token matches nothing.
    pub fn token_matches(&self, presented: &str) -> bool {
        let token = self.token.expose().as_bytes();
        !token.is_empty() && bool::from(presented.as_bytes().ct_eq(token))
    }
}

/// `[sentry]`: error reporting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentrySettings {
    /// DSN (environment or secret file only); empty: nothing is reported.
    pub dsn: Secret,
}

impl Settings {
    /// Whether orders would reach a real market. Every live-trading switch belongs here, so the
    /// allowlist rule below covers it: a provider other than the paper ledger, in `live` mode
    /// (`broker.mode = "paper"` sends Alpaca orders to its paper endpoint: no real money).
    pub fn live_broker(&self) -> bool {
        self.broker.provider != "paper" && self.broker.mode == "live"
    }

    /// AVA refuses to start with a live broker unless only listed people can trade.
    pub fn check_live_trading_access(&self) -> Result<(), ConfigError> {
        if !self.live_broker() {
            return Ok(());
        }
        if self.access.mode != AccessMode::Allowlist {
            return Err(invalid(
                "access.mode",
                "must be \"allowlist\" with a live broker (broker.provider); list traders in access.traders",
            ));
        }
        if self.access.traders.is_empty() {
            return Err(invalid(
                "access.traders",
                "must list at least one Telegram user id with a live broker (broker.provider) and access.mode = \"allowlist\"",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_token_matches_only_itself_and_never_when_unset() {
        let admin = AdminSettings {
            token: Secret::new("s3cr3t-admin"),
        };
        assert!(admin.token_matches("s3cr3t-admin"));
        assert!(!admin.token_matches("s3cr3t-admiN"));
        assert!(!admin.token_matches("s3cr3t"));
        assert!(!admin.token_matches(""));
        let off = AdminSettings {
            token: Secret::default(),
        };
        assert!(!off.token_matches(""));
    }
}
