//! Jobs, lanes and outcomes: the vocabulary shared by every backend.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};

/// A priority lane. Lanes are served by weight so that `Low` always moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lane {
    /// Callback queries and commands such as /cancel.
    High,
    /// Ordinary messages.
    Normal,
    /// Bulk and background work.
    Low,
}

impl Lane {
    /// Every lane, highest priority first.
    pub const ALL: [Lane; 3] = [Lane::High, Lane::Normal, Lane::Low];

    /// The one-letter code stored in records and Redis key names.
    pub(crate) fn code(self) -> u8 {
        match self {
            Lane::High => b'h',
            Lane::Normal => b'n',
            Lane::Low => b'l',
        }
    }

    /// The lane of a one-letter code.
    pub(crate) fn from_code(code: u8) -> Option<Lane> {
        match code {
            b'h' => Some(Lane::High),
            b'n' => Some(Lane::Normal),
            b'l' => Some(Lane::Low),
            _ => None,
        }
    }

    /// Position in [`Lane::ALL`].
    pub(crate) fn index(self) -> usize {
        match self {
            Lane::High => 0,
            Lane::Normal => 1,
            Lane::Low => 2,
        }
    }

    /// The lane's name as used in configuration, keys and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::High => "high",
            Lane::Normal => "normal",
            Lane::Low => "low",
        }
    }
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Lane {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "high" => Ok(Lane::High),
            "normal" => Ok(Lane::Normal),
            "low" => Ok(Lane::Low),
            other => Err(format!("unknown lane {other:?} (expected high, normal or low)")),
        }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// An explicit id makes the enqueue idempotent within the dedupe window.
    pub id: Option<String>,
    /// What the job is, e.g. `telegram_update`; the handler dispatches on it.
    pub kind: String,
    /// The lane the job waits in.
    pub lane: Lane,
    /// Jobs with the same ordering key run one at a time, in enqueue order.
    pub key: String,
    /// Opaque payload for the handler.
    pub payload: Vec<u8>,
    /// Not before this long after enqueue (a delayed job).
    pub delay: Duration,
}

impl NewJob {
    /// A job of `kind` for `key` in `lane` carrying `payload`.
    pub fn new(
        kind: impl Into<String>,
        lane: Lane,
        key: impl Into<String>,
        payload: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            id: None,
            kind: kind.into(),
            lane,
            key: key.into(),
            payload: payload.into(),
            delay: Duration::ZERO,
        }
    }

    /// Starts the job no earlier than `delay` from now. Later jobs of the same key wait behind it.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets an explicit id, used for deduplication.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// What an enqueue did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// The job is queued under this id.
    Queued(String),
    /// A job with this id was seen within the dedupe window; nothing was queued.
    Duplicate,
}

/// A leased job, handed to a handler.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// Unique id.
    pub id: String,
    /// What the job is; the handler dispatches on it.
    pub kind: String,
    /// Lane it was queued in.
    pub lane: Lane,
    /// Ordering key.
    pub key: String,
    /// Opaque payload.
    pub payload: Vec<u8>,
    /// Attempts so far, including this one.
    pub attempts: u32,
    /// Enqueue time, milliseconds since the Unix epoch.
    pub enqueued_at_ms: u64,
    /// Start of the first attempt, milliseconds since the Unix epoch.
    pub first_attempt_at_ms: u64,
    /// Start of this attempt (the lease), milliseconds since the Unix epoch.
    pub leased_at_ms: u64,
    /// Ids this job had before, oldest first, when it is a replayed dead letter.
    pub replayed_from: Vec<String>,
    /// The lease's fencing token, unique to this lease of this job in its queue. Acks and
    /// heartbeats carry it; once the lease is lost, they are refused.
    #[serde(default)]
    pub token: u64,
}

/// How a job attempt ended. Every failure is classified once, where it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished; never runs again.
    Done,
    /// Failed transiently; retry with backoff.
    Retry(String),
    /// Told to wait (a rate limit): retry no earlier than the given delay. Does not use up an
    /// attempt; bounded by `max_defer` from the first attempt instead.
    RetryAfter(Duration, String),
    /// Failed for good; goes to the dead-letter queue.
    Permanent(String),
}
