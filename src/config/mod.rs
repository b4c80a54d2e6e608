//! Typed settings, layered: built-in defaults < `config/default.toml` < `--config FILE`
//! < `AVA_<SECTION>__<KEY>` environment variables. Validated once, at start-up.

mod access;
mod conversation;
mod infra;
mod ingress;
mod integrations;
mod limits;
mod nlu;
mod providers;
mod queue;
mod scheduler;
mod secret;
mod show;
pub mod sources;
mod store;
mod telegram;
mod voice;
mod worker;

use std::path::Path;

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::Deserialize;

pub use access::{AccessMode, AccessSettings, AdminSettings, SentrySettings};
pub use conversation::ConversationSettings;
pub use infra::{DatabaseSettings, HttpSettings, LogSettings, RedisSettings};
pub use ingress::{IngressMode, IngressSettings, LaneRules, PollingSettings};
pub use integrations::{
    BrokerSettings, CacheSettings, GuardSettings, MARKET_PROVIDERS, MarketDataSettings, TradingSettings,
};
pub use limits::{InboundLimitSettings, OutboundLimitSettings};
pub use nlu::NluSettings;
pub use providers::{
    ALPACA_LIVE_URL, ALPACA_PAPER_URL, AlpacaBrokerSettings, AlpacaDataSettings, BinanceSettings,
};
pub use queue::QueueSettings;
pub use scheduler::SchedulerSettings;
pub use secret::Secret;
pub use show::show;
pub use store::{RetentionDays, StoreSettings};
pub use telegram::{TelegramSettings, WebhookSettings, is_valid_secret_token};
pub use voice::VoiceSettings;
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
    /// Voice message transcription.
    pub voice: VoiceSettings,
    /// The optional language model.
    pub nlu: NluSettings,
    /// Who may read, trade and run operator commands.
    pub access: AccessSettings,
    /// The operator API.
    pub admin: AdminSettings,
    /// Error reporting.
    pub sentry: SentrySettings,
}

/// A setting that cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layers could not be read or do not fit the types.
    #[error("configuration: {0}")]
    Load(String),
    /// A value has the right type but is not usable.
    #[error("configuration key `{key}`{}: {problem}", env_hint(key))]
    Invalid {
        /// Dotted key, e.g. `webhook.path`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A secret was found in a config file.
    #[error(
        "configuration key `{key}` holds a secret in {path}; config files get committed, so set {var} or {var}_FILE instead"
    )]
    SecretInFile {
        /// Dotted key.
        key: String,
        /// The file.
        path: String,
        /// Its environment variable.
        var: String,
    },
}

impl Settings {
    /// Loads the layers, then validates. `file` is an optional extra TOML file.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// The layered sources, for callers that add layers of their own (tests, `dev`).
    /// `AVA_<KEY>_FILE` variables name files holding a value (Docker secrets); they rank with
    /// the environment, and giving a key both ways is an error.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut fig = Figment::from(Toml::string(DEFAULTS)).merge(Toml::file("config/default.toml"));
        if let Some(file) = file {
            fig = fig.merge(Toml::file_exact(file));
        }
        let env = Env::prefixed(sources::ENV_PREFIX)
            .split("__")
            // `AVA_CONFIG` is the --config flag; `…_FILE` variables are read by `SecretFiles`.
            .filter(|key| {
                let key = key.as_str().to_lowercase();
                key != "config" && !key.ends_with("_file")
            });
        fig.merge(env).merge(sources::SecretFiles::from_env())
    }

    /// Extracts and validates settings from `fig`. A secret found in a config file is refused:
    /// files get committed, and secrets belong in the environment or a secret file.
    pub fn from_figment(fig: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = fig
            .extract()
            .map_err(|e| ConfigError::Load(describe_load_error(e)))?;
        refuse_secrets_in_files(&fig)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but cannot work; each section checks its own keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // First: with a live broker nothing else matters until access is restricted.
        self.check_live_trading_access()?;
        self.access.validate()?;
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
        self.voice.validate()?;
        self.nlu.validate()?;
        self.log.validate()?;
        self.http.validate()
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

/// Any secret whose value comes from a TOML file is an error naming its key.
fn refuse_secrets_in_files(fig: &Figment) -> Result<(), ConfigError> {
    let dict: figment::value::Dict = fig.extract().map_err(|e| ConfigError::Load(e.to_string()))?;
    for (key, value) in sources::leaves(&dict) {
        let Some(text) = value.as_str() else { continue };
        if !sources::holds_secret(&key, text) {
            continue;
        }
        if let sources::Origin::File(path) = sources::origin_of(fig, &key) {
            return Err(ConfigError::SecretInFile {
                var: sources::env_var_of(&key),
                key,
                path,
            });
        }
    }
    Ok(())
}

/// ` (env AVA_QUEUE__MAX_ATTEMPTS)` for a plain dotted key; nothing for a compound one.
fn env_hint(key: &str) -> String {
    if key.contains(' ') || !key.contains('.') {
        return String::new();
    }
    format!(" (env AVA_{})", key.to_ascii_uppercase().replace('.', "__"))
}

/// Figment's errors, each named by its TOML key and environment variable (figment itself
/// shows environment keys as `QUEUE.MAX_ATTEMPTS`), with how to write a list in a variable.
fn describe_load_error(errors: figment::Error) -> String {
    errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_ascii_lowercase();
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            let mut kind = e.kind.to_string();
            if kind.contains("expected a sequence") {
                kind.push_str(
                    "; a list in an environment variable is written as TOML, e.g. AVA_LANES__HIGH_COMMANDS='[\"cancel\", \"stop\"]'",
                );
            }
            if key.is_empty() {
                format!("{kind}{source}")
            } else {
                format!("key `{key}`{}: {kind}{source}", env_hint(&key))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
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
        // Numbers, not strings: a string would fail on its type and name the key anyway.
        let number = |key: &str, value: u64| {
            Settings::from_figment(
                Figment::from(Toml::string(DEFAULTS)).merge(Serialized::default(key, value)),
            )
        };
        let err = number("store.spool_max_bytes", 1000).unwrap_err().to_string();
        assert!(
            err.contains("store.spool_max_bytes") && err.contains("1 MiB"),
            "{err}"
        );
        let err = number("database.statement_timeout_ms", 5)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("database.statement_timeout_ms") && err.contains("at least 100"),
            "{err}"
        );
        let zero = number("database.statement_timeout_ms", 0);
        assert!(zero.is_ok(), "0 means no limit: {:?}", zero.err());
    }

    // figment's Jail returns its own (large) error type.
    #[allow(clippy::result_large_err)]
    #[test]
    fn errors_name_the_toml_key_and_its_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AVA_QUEUE__MAX_ATTEMPTS", "abc");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(
                err.contains("`queue.max_attempts` (env AVA_QUEUE__MAX_ATTEMPTS)"),
                "{err}"
            );
            assert!(!err.contains("QUEUE.MAX_ATTEMPTS"), "{err}");
            jail.set_env("AVA_QUEUE__MAX_ATTEMPTS", "5");
            jail.set_env("AVA_QUEUE__HEARTBEAT_MS", "40000");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(
                err.contains("`queue.heartbeat_ms` (env AVA_QUEUE__HEARTBEAT_MS)"),
                "{err}"
            );
            assert!(
                err.contains("queue.lease_ms") && !err.contains("lease_duration"),
                "{err}"
            );
            jail.set_env("AVA_QUEUE__HEARTBEAT_MS", "10000");
            jail.set_env("AVA_LANES__HIGH_COMMANDS", "cancel");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(
                err.contains("`lanes.high_commands` (env AVA_LANES__HIGH_COMMANDS)"),
                "{err}"
            );
            assert!(
                err.contains("AVA_LANES__HIGH_COMMANDS='["),
                "says how to write a list: {err}"
            );
            jail.set_env("AVA_LANES__HIGH_COMMANDS", r#"["cancel","halt"]"#);
            let s = Settings::load(None).expect("a TOML list in a variable");
            assert_eq!(s.lanes.high_commands, ["cancel", "halt"]);
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn ava_config_names_the_file_and_is_not_a_setting() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("extra.toml", "[worker]\nconcurrency = 3\n")?;
            jail.set_env("AVA_CONFIG", "extra.toml");
            let s = Settings::load(Some(Path::new("extra.toml"))).expect("AVA_CONFIG is accepted");
            assert_eq!(s.worker.concurrency, 3);
            Ok(())
        });
    }

    #[test]
    fn a_log_filter_that_does_not_parse_is_refused() {
        let err = with("log.filter", "nonsense=").unwrap_err().to_string();
        assert!(
            err.contains("log.filter") && err.contains("AVA_LOG__FILTER"),
            "{err}"
        );
        assert!(with("log.filter", "warn,ava=debug").is_ok());
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
        assert!(err.contains("access.mode") && err.contains("allowlist"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_rejected() {
        let err = with("http.adr", "127.0.0.1:1").unwrap_err().to_string();
        assert!(err.contains("adr"), "{err}");
    }

    #[test]
    fn a_live_broker_needs_an_allowlist_with_a_trader() {
        let live = || {
            Figment::from(Toml::string(DEFAULTS))
                .merge(Serialized::default("broker.provider", "alpaca"))
                .merge(Serialized::default("broker.mode", "live"))
        };
        let err = Settings::from_figment(live()).unwrap_err().to_string();
        assert!(err.contains("access.mode") && err.contains("allowlist"), "{err}");
        let err = Settings::from_figment(live().merge(Serialized::default("access.mode", "allowlist")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("access.traders"), "{err}");
        // With an allowlist and a trader the access rule holds (whatever the broker says next).
        let mut s = Settings::from_figment(Figment::from(Toml::string(DEFAULTS))).unwrap();
        s.broker.provider = "alpaca".into();
        assert!(!s.live_broker(), "Alpaca's paper endpoint is not live");
        s.broker.mode = "live".into();
        assert!(s.live_broker());
        assert!(s.check_live_trading_access().is_err());
        s.access.mode = AccessMode::Allowlist;
        s.access.traders.insert(1001);
        assert!(s.check_live_trading_access().is_ok());
        // The paper broker runs open (the dev default).
        let dev = Settings::from_figment(Figment::from(Toml::string(DEFAULTS))).unwrap();
        assert_eq!(dev.access.mode, AccessMode::Open);
        assert!(!dev.live_broker());
    }

    #[test]
    fn a_secret_in_a_config_file_is_refused_by_key() {
        let dir = std::env::temp_dir().join(format!("ava-cfg-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let check = |body: &str| {
            let file = dir.join("ava.toml");
            std::fs::write(&file, body).unwrap();
            Settings::from_figment(Figment::from(Toml::string(DEFAULTS)).merge(Toml::file_exact(&file)))
        };
        let err = check("[webhook]\nsecret = \"abc\"\n").unwrap_err().to_string();
        assert!(
            err.contains("`webhook.secret`") && err.contains("AVA_WEBHOOK__SECRET_FILE"),
            "{err}"
        );
        assert!(!err.contains("abc"), "the value is not repeated: {err}");
        let err = check("[database]\nurl = \"postgres://ava:pw@db/ava\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`database.url`"), "{err}");
        // Without a password the URL is no secret; empty secrets are fine.
        check("[database]\nurl = \"postgres://ava@db/ava\"\n[telegram]\ntoken = \"\"\n").expect("no secret");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = with("telegram.token", "123:SECRET-TOKEN").unwrap();
        assert!(!format!("{s:?}").contains("SECRET-TOKEN"));
    }
}
