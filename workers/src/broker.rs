//! The `Broker` trait every backend implements, and the types that cross it.
//!
//! Backends only store and move jobs. What an outcome means (retry when, dead-letter why) is
//! decided once, here, by [`settle_for`], so the Redis and memory backends cannot disagree.

use std::{future::Future, time::Duration};

use rand::Rng;

use crate::{
    BrokerError, Clock, DeadLetter, Enqueued, Job, Lane, NewJob, Outcome, QueueConfig, backoff,
    record::is_header_safe,
};

/// What one lease call handed out.
#[derive(Debug, Default)]
pub struct Leased {
    /// The leased jobs, at most one per key.
    pub jobs: Vec<Job>,
    /// When something becomes due (a delayed job or a lease deadline), ms since the epoch.
    pub next_wake_ms: Option<u64>,
    /// Jobs dead-lettered during this call because their lease expired `max_attempts` times.
    pub dead_lettered: u32,
    /// The backend's "now" at this call, ms since the epoch (Redis' own clock on Redis), so a
    /// consumer measures waits against the clock the due times came from, not its host's.
    pub now_ms: u64,
}

/// Why a job went to the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The handler said `Permanent`.
    Permanent,
    /// `Retry` until `max_attempts` ran out.
    RetriesExhausted,
    /// The last attempt panicked and attempts ran out.
    Panicked,
    /// The job's lease expired `max_attempts` times (its consumer kept dying).
    LeaseExpired,
    /// `RetryAfter` kept it waiting longer than `max_defer` after its first attempt.
    DeferredTooLong,
}

impl ErrorClass {
    /// The name stored with the dead letter and used in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Permanent => "permanent",
            ErrorClass::RetriesExhausted => "retries_exhausted",
            ErrorClass::Panicked => "panic",
            ErrorClass::LeaseExpired => "lease_expired",
            ErrorClass::DeferredTooLong => "deferred_too_long",
        }
    }
}

/// What to do with a leased job now that its attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// Remove it; the key's next job becomes ready.
    Done,
    /// Keep it at the head of its key and lease it again at `due_ms`; the attempt counts.
    RetryAt {
        /// Due time, ms since the epoch.
        due_ms: u64,
    },
    /// Keep it at the head of its key and lease it again at `due_ms` without counting the
    /// attempt: waiting on a rate limit (`RetryAfter`) is not failing.
    DeferUntil {
        /// Due time, ms since the epoch.
        due_ms: u64,
    },
    /// Move it to the dead-letter queue; the key's next job becomes ready.
    Dead {
        /// Why.
        class: ErrorClass,
        /// The last error text.
        error: String,
    },
    /// Give the lease back without counting the attempt (graceful shutdown).
    Release,
}

/// The end of one attempt, as sent to [`Broker::settle`].
#[derive(Debug, Clone)]
pub struct Ack {
    /// The job's ordering key.
    pub key: String,
    /// The lease's token ([`Job::token`]); an ack with any other token (the lease was lost, maybe
    /// to another consumer that now runs the job or the key's next one) is refused as stale.
    pub token: u64,
    /// What to do.
    pub settle: Settle,
}

/// Decides what an outcome means for `job`: the one place where retry policy lives.
pub fn settle_for(
    job: &Job,
    outcome: &Outcome,
    panicked: bool,
    config: &QueueConfig,
    now_ms: u64,
    rng: &mut impl Rng,
) -> Settle {
    let exhausted = job.attempts >= config.max_attempts;
    let dead = |class, error: &str| Settle::Dead {
        class,
        error: error.to_owned(),
    };
    match outcome {
        Outcome::Done => Settle::Done,
        Outcome::Permanent(e) => dead(ErrorClass::Permanent, e),
        // Waiting is bounded in time, not in attempts: a rate limit may defer a job many times.
        Outcome::RetryAfter(after, e)
            if now_ms.saturating_sub(job.first_attempt_at_ms) + after.as_millis() as u64
                > config.max_defer.as_millis() as u64 =>
        {
            dead(ErrorClass::DeferredTooLong, e)
        }
        Outcome::RetryAfter(after, _) => Settle::DeferUntil {
            due_ms: now_ms + after.as_millis() as u64,
        },
        Outcome::Retry(e) if exhausted => dead(
            if panicked {
                ErrorClass::Panicked
            } else {
                ErrorClass::RetriesExhausted
            },
            e,
        ),
        Outcome::Retry(_) => {
            let delay = backoff::full_jitter(config.backoff_base, config.backoff_cap, job.attempts, rng);
            Settle::RetryAt {
                due_ms: now_ms + delay.as_millis() as u64,
            }
        }
    }
}

/// Per-lane figures for metrics and `ava dlq stats`-style tools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaneStats {
    /// Jobs queued in the lane and not finished (waiting, delayed, retrying or running).
    pub depth: u64,
    /// Keys whose next job can be leased now.
    pub ready_keys: u64,
    /// Age of the job at the front of the lane's ready keys, ms.
    pub oldest_age_ms: Option<u64>,
}

/// A snapshot of the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Indexed like [`Lane::ALL`].
    pub lanes: [LaneStats; 3],
    /// Jobs leased right now, across all consumers.
    pub in_flight: u64,
    /// Keys waiting for a due time (delayed jobs and retries).
    pub delayed_keys: u64,
    /// Dead letters stored.
    pub dead: u64,
}

/// A dead letter put back in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Its dead-letter id.
    pub old_id: String,
    /// The id of the new job.
    pub new_id: String,
    /// The lane it went to.
    pub lane: Lane,
}

/// A queue backend: Redis in production, memory for `dev` mode and unit tests.
///
/// Every implementation passes the same conformance suite (`workers/tests/runtime/suite.rs`).
pub trait Broker: Clone + Send + Sync + 'static {
    /// The queue's settings.
    fn config(&self) -> &QueueConfig;

    /// The clock due times and leases are computed from.
    fn clock(&self) -> &Clock;

    /// Queues jobs in one round trip; an explicit id seen within the dedupe window is a duplicate.
    fn enqueue_many(
        &self,
        jobs: Vec<NewJob>,
    ) -> impl Future<Output = Result<Vec<Enqueued>, BrokerError>> + Send;

    /// Queues one job.
    fn enqueue(&self, job: NewJob) -> impl Future<Output = Result<Enqueued, BrokerError>> + Send {
        async move {
            let mut done = self.enqueue_many(vec![job]).await?;
            done.pop()
                .ok_or_else(|| BrokerError::Corrupt("enqueue returned nothing".into()))
        }
    }

    /// Leases up to `max` jobs, at most one per key, lanes served by weight. Also promotes due
    /// delayed jobs and reclaims expired leases. Never blocks.
    fn lease(&self, max: usize) -> impl Future<Output = Result<Leased, BrokerError>> + Send;

    /// Renews the leases of running jobs `(key, token)`; `false` marks a lease no longer held
    /// (expired, maybe taken over): its holder must stop, or at least not settle.
    fn heartbeat(
        &self,
        leases: &[(String, u64)],
    ) -> impl Future<Output = Result<Vec<bool>, BrokerError>> + Send;

    /// Applies the ends of attempts in one round trip; `false` marks a stale ack (lease lost, or
    /// a second ack of the same lease).
    fn settle(&self, acks: Vec<Ack>) -> impl Future<Output = Result<Vec<bool>, BrokerError>> + Send;

    /// Waits until work may be ready (an enqueue, an ack that readied a key) or `timeout`.
    fn wait_for_work(&self, timeout: Duration) -> impl Future<Output = Result<(), BrokerError>> + Send;

    /// Depth, readiness, in-flight and dead-letter counts.
    fn stats(&self) -> impl Future<Output = Result<QueueStats, BrokerError>> + Send;

    /// Every dead letter's id and time of death, oldest first.
    fn dead_letter_index(&self) -> impl Future<Output = Result<Vec<(String, u64)>, BrokerError>> + Send;

    /// The dead letters with these ids (unknown ids are skipped).
    fn dead_letters(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<DeadLetter>, BrokerError>> + Send;

    /// Puts dead letters back in the queue, in their lane or `lane`, under new ids.
    fn replay_dead_letters(
        &self,
        ids: &[String],
        lane: Option<Lane>,
    ) -> impl Future<Output = Result<Vec<Replayed>, BrokerError>> + Send;

    /// Deletes dead letters; returns how many existed.
    fn remove_dead_letters(&self, ids: &[String]) -> impl Future<Output = Result<usize, BrokerError>> + Send;
}

/// Checks a job before it is stored.
pub(crate) fn check_new_job(job: &NewJob) -> Result<(), BrokerError> {
    if let Some(id) = &job.id
        && !is_header_safe(id)
    {
        return Err(BrokerError::InvalidJob(format!(
            "id {id:?}: 1-200 characters without | , or control characters"
        )));
    }
    if !is_header_safe(&job.kind) {
        return Err(BrokerError::InvalidJob(format!(
            "kind {:?}: 1-200 characters without | , or control characters",
            job.kind
        )));
    }
    if job.key.is_empty() || job.key.len() > 512 {
        return Err(BrokerError::InvalidJob("key: 1-512 bytes".into()));
    }
    Ok(())
}

/// A fresh job id: time-ordered hex, unique without a round trip to the backend.
pub(crate) fn new_job_id(now_ms: u64) -> String {
    format!("{now_ms:x}-{:016x}", rand::random::<u64>())
}
