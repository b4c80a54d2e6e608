//! AVA's job runtime: priority lanes, per-key order, leases, retries and dead letters.
//!
//! This crate knows jobs, lanes and ordering keys; it knows nothing of Telegram or Postgres.
//! - [`job`](Job): the vocabulary: [`NewJob`], [`Job`], [`Lane`], [`Outcome`].
//! - [`Broker`]: the backend trait, with [`RedisBroker`] (production, Redis or Redis Cluster)
//!   and [`MemoryBroker`] (dev mode, unit tests). Retry policy lives in [`settle_for`].
//! - [`Runner`]: the consumer: batched leases and acks, heartbeats, per-kind deadlines, caught
//!   panics, and an optional [`AttemptHook`] told of every attempt.
//! - [`DeadLetters`]: list, show, replay, purge and stats over any broker.
//! - [`QueueConfig`], [`Clock`], [`metrics`].
//!
//! Model: each ordering key has a mailbox (FIFO of its jobs); only the head of a mailbox can run.
//! A key whose head can run sits in the ready lane of that head's lane; lanes are served by
//! smooth weighted round robin. A leased key is in no ready lane, which is what makes one key
//! run one job at a time everywhere. Each lease carries a fencing token: only its holder may
//! settle or renew it, so a consumer that stalled past its lease cannot touch the job (or the
//! key's next job) that another consumer now runs.

mod attempt;
mod backoff;
mod broker;
mod clock;
mod config;
mod dead_letter;
mod job;
mod memory;
pub mod metrics;
mod record;
mod redis;
mod runner;
mod weights;

pub use backoff::{backoff_bound, full_jitter};
pub use broker::{Ack, Broker, ErrorClass, LaneStats, Leased, QueueStats, Replayed, Settle, settle_for};
pub use clock::{Clock, system_now_ms};
pub use config::{ConfigProblem, QueueConfig};
pub use dead_letter::{
    DeadLetter, DeadLetterFilter, DeadLetterPage, DeadLetterStats, DeadLetters, Purged, Selection,
};
pub use job::{Enqueued, Job, Lane, NewJob, Outcome};
pub use memory::MemoryBroker;
pub use redis::{RedisBroker, RedisConn, RedisTarget};
pub use runner::{AttemptHook, Executed, Runner};

/// Errors the broker reports to its callers.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Redis could not be reached or answered with an error.
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// A stored job could not be decoded.
    #[error("corrupt job record: {0}")]
    Corrupt(String),
    /// A job cannot be queued as given.
    #[error("invalid job: {0}")]
    InvalidJob(String),
    /// The queue settings cannot work.
    #[error("invalid queue configuration: {0}")]
    InvalidConfig(String),
}
