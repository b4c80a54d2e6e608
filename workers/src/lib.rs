//! AVA's job runtime: lanes, jobs and the broker that queues them.
//!
//! This crate knows jobs, lanes and ordering keys; it knows nothing of Telegram or Postgres.
//! The walking-skeleton broker here is deliberately small (one Redis list per lane, no leases);
//! the production runtime (per-key order, leases, retries, dead letters) replaces it.

mod job;
mod redis_broker;

pub use job::{Enqueued, Job, Lane, NewJob, Outcome};
pub use redis_broker::RedisBroker;

/// Errors the broker reports to its callers.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// Redis could not be reached or answered with an error.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// A stored job could not be decoded.
    #[error("corrupt job record: {0}")]
    Corrupt(String),
}
