//! The kinds of log row, one typed struct each; [`LogRow`] is what the writer batches and spools.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A fresh idempotency key for rows that have no natural one. Minted once, when the row is made,
/// so a row replayed from the spool is recognised by `ON CONFLICT (log_key) DO NOTHING`.
pub fn new_log_key() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// One incoming update and what became of it (`message_log`, unique by `update_id`).
/// Written once per attempt; the row with the most attempts wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageLogRow {
    /// Telegram's update_id.
    pub update_id: i64,
    /// Chat it belongs to, if any.
    pub chat_id: Option<i64>,
    /// Sender, if any.
    pub user_id: Option<i64>,
    /// `message`, `callback_query`, ...
    pub kind: String,
    /// Lane it was queued in.
    pub lane: String,
    /// Text or caption, if any.
    pub text: Option<String>,
    /// The command without `/` and `@bot`, when the text is one (`start` for `/start@ava_bot x`).
    pub command: Option<String>,
    /// The update as received.
    pub raw: Value,
    /// When the ingress received it.
    pub received_at: DateTime<Utc>,
    /// When it was durably queued.
    pub enqueued_at: Option<DateTime<Utc>>,
    /// When the worker started this attempt.
    pub started_at: DateTime<Utc>,
    /// When this attempt ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// `done`, `retry` or `failed`.
    pub outcome: Option<String>,
    /// Why it did not end `done`.
    pub error: Option<String>,
    /// Attempt number (1 for the first run).
    pub attempts: i32,
    /// Worker that ran it.
    pub worker: String,
}

/// One Bot API call (`outbound_log`, unique by `log_key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundLogRow {
    /// Idempotency key, see [`new_log_key`].
    pub log_key: String,
    /// The update this answers.
    pub update_id: Option<i64>,
    /// Target chat.
    pub chat_id: i64,
    /// Bot API method.
    pub method: String,
    /// Request body.
    pub payload: Value,
    /// Telegram's message id, when sent.
    pub message_id: Option<i64>,
    /// `sent` or `failed`.
    pub status: String,
    /// Error text, when failed.
    pub error: Option<String>,
    /// When the call was made.
    pub sent_at: DateTime<Utc>,
    /// Call latency in milliseconds.
    pub latency_ms: Option<i32>,
}

/// A user was seen (`users`, upserted by `user_id`; first_seen keeps the earliest, last_seen the
/// latest, and being seen clears `blocked`: a user who writes has unblocked the bot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSeen {
    /// Telegram user id.
    pub user_id: i64,
    /// @username, if set.
    pub username: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// IETF language tag from the client.
    pub language_code: Option<String>,
    /// When.
    pub seen_at: DateTime<Utc>,
}

impl UserSeen {
    /// The sender of a raw update (`message.from`, `callback_query.from`, ...), if it has one.
    pub fn from_sender(from: &serde_json::Map<String, Value>, seen_at: DateTime<Utc>) -> Option<Self> {
        let text = |field: &str| from.get(field).and_then(Value::as_str).map(str::to_owned);
        Some(Self {
            user_id: from.get("id")?.as_i64()?,
            username: text("username"),
            first_name: text("first_name"),
            language_code: text("language_code"),
            seen_at,
        })
    }
}

/// The bot was blocked by a user (Telegram answered 403); sets `users.blocked`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserBlocked {
    /// Telegram user id.
    pub user_id: i64,
    /// When Telegram refused.
    pub at: DateTime<Utc>,
}

/// A conversation state change (`conversation_transitions`, unique by `log_key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationTransition {
    /// Idempotency key, see [`new_log_key`].
    pub log_key: String,
    /// Chat whose conversation moved.
    pub chat_id: i64,
    /// The update that caused it, if any (timeouts have none).
    pub update_id: Option<i64>,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Event that moved it.
    pub event: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// How one attempt of a job ended (`job_attempts`, unique by job id + attempt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobAttempt {
    /// Job id.
    pub job_id: String,
    /// Attempt number, from 1.
    pub attempt: i32,
    /// Job kind.
    pub kind: String,
    /// Lane.
    pub lane: String,
    /// Ordering key (the chat mailbox).
    pub job_key: String,
    /// Worker that ran it.
    pub worker: Option<String>,
    /// Start of the attempt.
    pub started_at: DateTime<Utc>,
    /// End of the attempt.
    pub finished_at: DateTime<Utc>,
    /// `done`, `retry`, `permanent`, `panic` or `lease_expired`.
    pub outcome: String,
    /// Error text, if any.
    pub error: Option<String>,
    /// Delay before the next attempt, for retries.
    pub retry_in_ms: Option<i64>,
}

/// A job moved to the dead-letter queue (`dead_letters`, by job id; the newest failure wins, and
/// takes its status from any replay or purge audited at or after it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Job id.
    pub job_id: String,
    /// Job kind.
    pub kind: String,
    /// Lane.
    pub lane: String,
    /// Ordering key.
    pub job_key: String,
    /// The payload; non-JSON payloads are stored as a JSON string.
    pub payload: Value,
    /// Last error.
    pub error: String,
    /// Why it died: `permanent`, `retries_exhausted`, `panic` or `lease_expired`.
    /// Optional (with the times below) so rows spooled by an older build still decode.
    #[serde(default)]
    pub error_class: Option<String>,
    /// Attempts made.
    pub attempts: i32,
    /// When the job was first queued.
    pub enqueued_at: Option<DateTime<Utc>>,
    /// Start of the first attempt.
    #[serde(default)]
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// Start of the last attempt.
    #[serde(default)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When it was dead-lettered.
    pub failed_at: DateTime<Utc>,
}

/// What an operator did to dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadLetterAction {
    /// Put back in their lane.
    Replay,
    /// Deleted.
    Purge,
}

impl DeadLetterAction {
    /// The name stored in `dead_letter_audit.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replay => "replay",
            Self::Purge => "purge",
        }
    }

    /// The `dead_letters.status` the affected rows take.
    pub fn resulting_status(self) -> &'static str {
        match self {
            Self::Replay => "replayed",
            Self::Purge => "purged",
        }
    }
}

/// A replay or purge (`dead_letter_audit`, unique by `log_key`); also marks the affected
/// `dead_letters` rows replayed or purged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterAudit {
    /// Idempotency key, see [`new_log_key`].
    pub log_key: String,
    /// Replay or purge.
    pub action: DeadLetterAction,
    /// Who (operator name, `cli:$USER`, ...).
    pub actor: String,
    /// The filter as given (kind, lane, age, ids, ...).
    pub filter: Value,
    /// The jobs it touched.
    pub job_ids: Vec<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// An outbound rate limit hit (`rate_limit_violations`, unique by `log_key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimitViolation {
    /// Idempotency key, see [`new_log_key`].
    pub log_key: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Which limit: `global`, `chat`, `group` or `telegram_429`.
    pub scope: String,
    /// Chat concerned, if any.
    pub chat_id: Option<i64>,
    /// Bot API method.
    pub method: Option<String>,
    /// Wait imposed (Telegram's retry_after or our limiter's).
    pub retry_after_ms: Option<i64>,
    /// Free text.
    pub detail: Option<String>,
}

/// A refused attempt (`access_denied`, unique by `log_key`): who, where, what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessDenied {
    /// Idempotency key: derived from the event, so a retried job records it once.
    pub log_key: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Telegram user id of the person refused.
    pub user_id: i64,
    /// Chat it happened in.
    pub chat_id: i64,
    /// What was attempted: `view`, `trade`, `group_trade`, `confirm`, `admin`.
    pub action: String,
    /// The update, if any.
    pub update_id: Option<i64>,
    /// Whether the person was told (refusal messages are rate-limited per user).
    pub notified: bool,
}

/// Any log row: what the writer queues, batches and spools (as JSON) during an outage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "snake_case")]
pub enum LogRow {
    /// See [`MessageLogRow`].
    Message(MessageLogRow),
    /// See [`OutboundLogRow`].
    Outbound(OutboundLogRow),
    /// See [`UserSeen`].
    UserSeen(UserSeen),
    /// See [`UserBlocked`].
    UserBlocked(UserBlocked),
    /// See [`ConversationTransition`].
    Transition(ConversationTransition),
    /// See [`JobAttempt`].
    JobAttempt(JobAttempt),
    /// See [`DeadLetter`].
    DeadLetter(DeadLetter),
    /// See [`DeadLetterAudit`].
    DeadLetterAudit(DeadLetterAudit),
    /// See [`RateLimitViolation`].
    RateLimitViolation(RateLimitViolation),
    /// See [`AccessDenied`].
    AccessDenied(AccessDenied),
}

impl LogRow {
    /// The row kind, as used in metric labels and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Message(_) => "message_log",
            Self::Outbound(_) => "outbound_log",
            Self::UserSeen(_) => "user_seen",
            Self::UserBlocked(_) => "user_blocked",
            Self::Transition(_) => "conversation_transition",
            Self::JobAttempt(_) => "job_attempt",
            Self::DeadLetter(_) => "dead_letter",
            Self::DeadLetterAudit(_) => "dead_letter_audit",
            Self::RateLimitViolation(_) => "rate_limit_violation",
            Self::AccessDenied(_) => "access_denied",
        }
    }
}

macro_rules! into_log_row {
    ($($ty:ident => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for LogRow {
            fn from(row: $ty) -> Self {
                LogRow::$variant(row)
            }
        })*
    };
}

into_log_row!(
    MessageLogRow => Message,
    OutboundLogRow => Outbound,
    UserSeen => UserSeen,
    UserBlocked => UserBlocked,
    ConversationTransition => Transition,
    JobAttempt => JobAttempt,
    DeadLetter => DeadLetter,
    DeadLetterAudit => DeadLetterAudit,
    RateLimitViolation => RateLimitViolation,
    AccessDenied => AccessDenied,
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_sender_without_an_id_is_not_recorded() {
        let at = Utc::now();
        let from =
            json!({"id": 9, "is_bot": false, "first_name": "Ann", "username": "ann", "language_code": "de"});
        let seen = UserSeen::from_sender(from.as_object().unwrap(), at).expect("sender");
        assert_eq!((seen.user_id, seen.username.as_deref()), (9, Some("ann")));
        assert_eq!(seen.language_code.as_deref(), Some("de"));
        let nameless = json!({"first_name": "Ann"});
        assert!(UserSeen::from_sender(nameless.as_object().unwrap(), at).is_none());
    }

    #[test]
    fn rows_survive_the_spool_encoding() {
        let row = LogRow::from(RateLimitViolation {
            log_key: new_log_key(),
            at: Utc::now(),
            scope: "chat".into(),
            chat_id: Some(5),
            method: Some("sendMessage".into()),
            retry_after_ms: Some(1000),
            detail: None,
        });
        let back: LogRow = serde_json::from_str(&serde_json::to_string(&row).unwrap()).unwrap();
        assert_eq!(back, row);
    }
}
