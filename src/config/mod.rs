//! Typed settings, layered: built-in defaults < `config/default.toml` < `--config FILE`
//! < `AVA_<SECTION>__<KEY>` environment variables. Validated once, at start-up.

mod conversation;
mod infra;
mod ingress;
mod integrations;
mod limits;
mod providers;
mod queue;
mod scheduler;
mod secret;
mod store;
mod telegram;
mod worker;

use std::path::Path;

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::Deserialize;

pub use conversation::ConversationSettings;
pub use infra::{DatabaseSettings, HttpSettings, LogSettings, RedisSettings};
pub use ingress::{IngressMode, IngressSettings, LaneRules, PollingSettings};
pub use integrations::{
    BrokerSettings, CacheSettings, GuardSettings, MARKET_PROVIDERS, MarketDataSettings, TradingSettings,
};
pub use limits::{InboundLimitSettings, OutboundLimitSettings};
pub use providers::{
    ALPACA_LIVE_URL, ALPACA_PAPER_URL, AccessSummary, AlpacaBrokerSettings, AlpacaDataSettings,
    BinanceSettings, require_live_broker_access,
};
pub use queue::QueueSettings;
pub use scheduler::SchedulerSettings;
pub use secret::Secret;
pub use store::{RetentionDays, StoreSettings};
pub use telegram::{TelegramSettings, WebhookSettings, is_valid_secret_token};
pub use worker::WorkerSettings;

/// The defaults shipped with the binary, so it runs from any directory.
const DEFAULTS: &str = include_str!("../../config/default.toml");

/// Every setting AVA reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Bot API access.
    pub telegram: TelegramSettings,
    /// The webhook endpoint.
    pub webhook: WebhookSettings,
    /// The HTTP listener.
    pub http: HttpSettings,
    /// Redis: queue, dedupe, state.
    pub redis: RedisSettings,
    /// Postgres: the record.
    pub database: DatabaseSettings,
    /// Worker processes.
    pub worker: WorkerSettings,
    /// The job runtime: lanes, retries, leases, dedupe.
    pub queue: QueueSettings,
    /// The batched log writer, its spool and retention.
    pub store: StoreSettings,
    /// Logging.
    pub log: LogSettings,
    /// Conversations: timeouts and state.
    pub conversation: ConversationSettings,
    /// Market data provider.
    pub market_data: MarketDataSettings,
    /// Broker.
    pub broker: BrokerSettings,
    /// Redis cache of external data.
    pub cache: CacheSettings,
    /// Risk limits.
    pub trading: TradingSettings,
    /// Periodic jobs.
    pub scheduler: SchedulerSettings,
    /// How updates come in (webhook or polling) and what is accepted.
    pub ingress: IngressSettings,
    /// Lane classification rules.
    pub lanes: LaneRules,
    /// getUpdates long polling.
    pub polling: PollingSettings,
    /// Per-user inbound rate limit.
    pub inbound_limit: InboundLimitSettings,
    /// Telegram's outbound limits.
    pub outbound_limit: OutboundLimitSettings,
}

/// A setting that cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layers could not be read or do not fit the types.
    #[error("configuration: {0}")]
    Load(String),
    /// A value has the right type but is not usable.
    #[error("configuration key `{key}`: {problem}")]
    Invalid {
        /// Dotted key, e.g. `webhook.path`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Settings {
    /// Loads the layers, then validates. `file` is an optional extra TOML file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// The layered sources, for callers that add layers of their own (tests, `dev`).
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut fig = Figment::from(Toml::string(DEFAULTS)).merge(Toml::file("config/default.toml"));
        if let Some(file) = file {
            fig = fig.merge(Toml::file_exact(file));
        }
        fig.merge(Env::prefixed("AVA_").split("__"))
    }

    /// Extracts and validates settings from `fig`.
    pub fn from_figment(fig: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = fig.extract().map_err(|e| ConfigError::Load(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but cannot work; each section checks its own keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.telegram.validate()?;
        self.webhook.validate()?;
        self.redis.validate()?;
        self.database.validate()?;
        self.worker.validate()?;
        self.conversation.validate()?;
        self.market_data.validate()?;
        self.broker.validate()?;
        self.cache.validate()?;
        self.trading.validate()?;
        self.scheduler.validate()?;
        self.ingress.validate()?;
        self.lanes.validate()?;
        self.polling.validate()?;
        self.inbound_limit.validate()?;
        self.outbound_limit.validate()?;
        self.queue.validate()?;
        self.store.validate()?;
        self.log.validate()
    }

    /// Checks what a role that talks to Telegram needs on top of [`Settings::validate`].
    pub fn require_token(&self) -> Result<(), ConfigError> {
        if self.telegram.token.expose().is_empty() {
            return Err(ConfigError::Invalid {
                key: "telegram.token",
                problem: "is required: set AVA_TELEGRAM__TOKEN".into(),
            });
        }
        Ok(())
    }

    /// Checks what the webhook ingress needs on top of [`Settings::validate`].
    pub fn require_webhook_secret(&self) -> Result<(), ConfigError> {
        if self.webhook.secret.expose().is_empty() {
            return Err(ConfigError::Invalid {
                key: "webhook.secret",
                problem: "is required: set AVA_WEBHOOK__SECRET (1-256 of A-Z a-z 0-9 _ -)".into(),
            });
        }
        Ok(())
    }
}

fn invalid(key: &'static str, problem: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        problem: problem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use figment::providers::Serialized;

    use super::*;

    fn with(key: &str, value: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(Figment::from(Toml::string(DEFAULTS)).merge(Serialized::default(key, value)))
    }

    #[test]
    fn defaults_load_and_validate() {
        let s = Settings::from_figment(Figment::from(Toml::string(DEFAULTS))).expect("defaults are valid");
        assert_eq!(s.webhook.path, "/webhook");
        assert_eq!(s.http.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.telegram.api_url, "https://api.telegram.org");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = with("http.addr", "not an address").unwrap_err().to_string();
        assert!(err.contains("http.addr"), "{err}");
        let err = with("webhook.path", "webhook").unwrap_err().to_string();
        assert!(err.contains("webhook.path"), "{err}");
        let err = with("webhook.secret", "has spaces").unwrap_err().to_string();
        assert!(err.contains("webhook.secret"), "{err}");
        let err = with("redis.url", "http://x").unwrap_err().to_string();
        assert!(err.contains("redis.url"), "{err}");
        let err = with("ingress.mode", "carrier-pigeon").unwrap_err().to_string();
        assert!(err.contains("mode"), "{err}");
        let err = with("ingress.enqueue_timeout_ms", "5000")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ingress.enqueue_timeout_ms"), "{err}");
        let err = with("polling.limit", "0").unwrap_err().to_string();
        assert!(err.contains("polling.limit"), "{err}");
        let err = with("outbound_limit.chat_per_sec", "0").unwrap_err().to_string();
        assert!(err.contains("outbound_limit.chat_per_sec"), "{err}");
        let err = with("webhook.public_url", "http://insecure")
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhook.public_url"), "{err}");
        let err = with("queue.heartbeat_ms", "20000").unwrap_err().to_string();
        assert!(err.contains("queue.heartbeat_ms"), "{err}");
        let err = with("queue.dedupe_window_hours", "1").unwrap_err().to_string();
        assert!(err.contains("queue.dedupe_window_hours"), "{err}");
        let err = with("queue.weight_low", "0").unwrap_err().to_string();
        assert!(err.contains("queue.weight_"), "{err}");
        let err = with("store.batch_rows", "0").unwrap_err().to_string();
        assert!(err.contains("store.batch_rows"), "{err}");
        let err = with("store.spool_max_rows", "10").unwrap_err().to_string();
        assert!(err.contains("store.spool_max_rows"), "{err}");
    }

    #[test]
    fn provider_settings_name_their_keys() {
        let err = with("market_data.provider", "alpaca").unwrap_err().to_string();
        assert!(err.contains("market_data.alpaca.key_id"), "{err}");
        assert!(
            with("market_data.provider", "binance").is_ok(),
            "Binance needs no key"
        );
        let err = with("market_data.provider", "nasdaq").unwrap_err().to_string();
        assert!(err.contains("market_data.provider"), "{err}");
        let err = with("market_data.alpaca.feed", "delayed")
            .unwrap_err()
            .to_string();
        assert!(err.contains("market_data.alpaca.feed"), "{err}");
        let err = with("broker.mode", "yolo").unwrap_err().to_string();
        assert!(err.contains("broker.mode"), "{err}");
        let err = with("broker.provider", "alpaca").unwrap_err().to_string();
        assert!(err.contains("broker.alpaca.key_id"), "{err}");
        let live = Figment::from(Toml::string(DEFAULTS)).merge(Toml::string(
            "[broker]\nprovider = \"alpaca\"\nmode = \"live\"\n[broker.alpaca]\nkey_id = \"k\"\nsecret_key = \"s\"\n",
        ));
        let err = Settings::from_figment(live).unwrap_err().to_string();
        assert!(err.contains("broker.mode") && err.contains("allowlist"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_rejected() {
        let err = with("http.adr", "127.0.0.1:1").unwrap_err().to_string();
        assert!(err.contains("adr"), "{err}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = with("telegram.token", "123:SECRET-TOKEN").unwrap();
        assert!(!format!("{s:?}").contains("SECRET-TOKEN"));
    }
}
