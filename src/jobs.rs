//! The job catalogue: every kind of job AVA queues, with its typed payload. A new job kind goes
//! here (a [`Kind`] variant, its name, its payload type) and gets one handler file under
//! `src/worker/handlers/`, registered in that module's dispatch; the compiler then points at every
//! place that must know of it. Nothing above `workers/` builds or reads a payload by hand.
//!
//! Ordering keys: a job that talks to a chat is keyed by the chat id, so it runs in order with
//! the chat's updates; periodic jobs are keyed by their kind, so two ticks never overlap.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use workers::{Job, Lane, NewJob, Outcome};

/// A Telegram update as the ingress received it; the payload is Telegram's JSON, unchanged.
pub const TELEGRAM_UPDATE: &str = "telegram_update";
/// The polite "you are sending too fast" message to a limited sender.
pub const RATE_LIMIT_NOTICE: &str = "rate_limit_notice";
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

/// Every job kind AVA runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// [`TELEGRAM_UPDATE`]
    TelegramUpdate,
    /// [`RATE_LIMIT_NOTICE`]
    RateLimitNotice,
    /// [`ALERT_MONITOR`]
    AlertMonitor,
    /// [`DATA_COLLECTOR`]
    DataCollector,
    /// [`TIMEOUT_SWEEP`]
    TimeoutSweep,
    /// [`RETENTION`]
    Retention,
    /// [`DEAD_LETTER_MIRROR`]
    DeadLetterMirror,
    /// [`CONVERSATION_TIMEOUT`]
    ConversationTimeout,
    /// [`ALERT_NOTIFY`]
    AlertNotify,
}

impl Kind {
    /// Every kind, e.g. to register metrics at zero.
    pub const ALL: [Kind; 9] = [
        Kind::TelegramUpdate,
        Kind::RateLimitNotice,
        Kind::AlertMonitor,
        Kind::DataCollector,
        Kind::TimeoutSweep,
        Kind::Retention,
        Kind::DeadLetterMirror,
        Kind::ConversationTimeout,
        Kind::AlertNotify,
    ];

    /// The periodic kinds the scheduler enqueues, each with a [`Tick`] payload.
    pub const PERIODIC: [Kind; 5] = [
        Kind::AlertMonitor,
        Kind::DataCollector,
        Kind::TimeoutSweep,
        Kind::Retention,
        Kind::DeadLetterMirror,
    ];

    /// The name stored with each job.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::TelegramUpdate => TELEGRAM_UPDATE,
            Kind::RateLimitNotice => RATE_LIMIT_NOTICE,
            Kind::AlertMonitor => ALERT_MONITOR,
            Kind::DataCollector => DATA_COLLECTOR,
            Kind::TimeoutSweep => TIMEOUT_SWEEP,
            Kind::Retention => RETENTION,
            Kind::DeadLetterMirror => DEAD_LETTER_MIRROR,
            Kind::ConversationTimeout => CONVERSATION_TIMEOUT,
            Kind::AlertNotify => ALERT_NOTIFY,
        }
    }

    /// The kind named `name`; `None` for a name AVA does not know (a permanent failure).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A typed job payload, stored as JSON.
pub trait Payload: Serialize + DeserializeOwned {
    /// The kind whose payload this is.
    const KIND: Kind;

    /// A job carrying this payload, in `lane`, ordered under `key`.
    fn job(&self, lane: Lane, key: impl Into<String>) -> NewJob {
        // Serializing these plain structs cannot fail.
        let body = serde_json::to_vec(self).expect("job payloads serialize");
        NewJob::new(Self::KIND.name(), lane, key, body)
    }

    /// Decodes `job`'s payload; a payload that does not decode is a permanent failure.
    fn decode(job: &Job) -> Result<Self, Outcome> {
        decode(&job.kind, &job.payload)
    }
}

fn decode<T: DeserializeOwned>(kind: &str, payload: &[u8]) -> Result<T, Outcome> {
    serde_json::from_slice(payload).map_err(|e| Outcome::Permanent(format!("bad {kind} payload: {e}")))
}

/// Payload of a periodic job: the tick's time, so work is judged against it, not the clock at
/// run time. The kind is the job's own (one of [`Kind::PERIODIC`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// Tick time, ms since the epoch.
    pub at_ms: u64,
}

impl Tick {
    /// The periodic job of `kind` for this tick, with a job id per period slot so a repeated tick
    /// enqueues nothing new.
    pub fn job(&self, kind: Kind, slot: u64) -> NewJob {
        debug_assert!(Kind::PERIODIC.contains(&kind));
        let body = serde_json::to_vec(self).expect("job payloads serialize");
        NewJob::new(kind.name(), Lane::Low, format!("scheduler:{kind}"), body)
            .with_id(format!("{kind}:{slot}"))
    }

    /// Decodes a periodic job's payload.
    pub fn decode(job: &Job) -> Result<Self, Outcome> {
        decode(&job.kind, &job.payload)
    }
}

/// Payload of [`CONVERSATION_TIMEOUT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeout {
    /// Chat.
    pub chat_id: i64,
    /// The deadline that passed; a newer deadline makes the job stale.
    pub deadline_ms: u64,
}

impl Payload for Timeout {
    const KIND: Kind = Kind::ConversationTimeout;
}

/// Payload of [`ALERT_NOTIFY`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl Payload for AlertFired {
    const KIND: Kind = Kind::AlertNotify;
}

/// Payload of [`RATE_LIMIT_NOTICE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitNotice {
    /// The dropped update.
    pub update_id: i64,
    /// Where to tell them (a private chat's id is its user's id).
    pub chat_id: i64,
    /// The limited sender.
    pub user_id: i64,
    /// What to say (`inbound_limit.notice_text`).
    pub text: String,
}

impl Payload for RateLimitNotice {
    const KIND: Kind = Kind::RateLimitNotice;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_by_name_and_unknown_names_are_none() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.name()), Some(kind));
        }
        assert_eq!(Kind::parse("telegram_updat"), None);
        let names: std::collections::HashSet<_> = Kind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), Kind::ALL.len(), "kind names are unique");
    }

    #[test]
    fn a_payload_decodes_from_its_job_and_garbage_is_permanent() {
        let notice = RateLimitNotice {
            update_id: 1,
            chat_id: 2,
            user_id: 3,
            text: "slow down".into(),
        };
        let new = notice.job(Lane::High, "2");
        assert_eq!((new.kind.as_str(), new.key.as_str()), (RATE_LIMIT_NOTICE, "2"));
        assert_eq!(decode::<RateLimitNotice>(&new.kind, &new.payload), Ok(notice));
        let bad = decode::<RateLimitNotice>(&new.kind, b"{\"chat_id\": \"seven\"}");
        assert!(matches!(bad, Err(Outcome::Permanent(m)) if m.contains("rate_limit_notice")));
    }
}
