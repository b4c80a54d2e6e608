//! Time as the queue sees it: the system clock, or a manual one that tests move by hand.
//!
//! On Redis, lease deadlines and due times come from Redis' own clock (`TIME` inside the
//! scripts), so hosts whose clocks disagree cannot steal each other's leases or delay each
//! other's jobs: a [`Clock::System`] (or [`Clock::Skewed`]) host clock is never sent to the
//! scripts. Only a [`Clock::Manual`] clock is authoritative on every backend, so a test can freeze
//! and advance time on Redis as well as in memory.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// A source of "now" in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// Wall-clock time.
    #[default]
    System,
    /// Time that moves only when told to; authoritative on every backend (tests).
    Manual(Arc<AtomicU64>),
    /// Wall-clock time off by this many ms: a host whose clock is wrong (tests of clock skew).
    Skewed(i64),
}

impl Clock {
    /// A manual clock starting at `start_ms`.
    pub fn manual(start_ms: u64) -> Self {
        Clock::Manual(Arc::new(AtomicU64::new(start_ms)))
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System => system_now_ms(),
            Clock::Manual(now) => now.load(Ordering::SeqCst),
            Clock::Skewed(by) => system_now_ms().saturating_add_signed(*by),
        }
    }

    /// The time a backend should use instead of its own clock: only a manual clock overrides it.
    pub fn authoritative_ms(&self) -> Option<u64> {
        match self {
            Clock::Manual(now) => Some(now.load(Ordering::SeqCst)),
            Clock::System | Clock::Skewed(_) => None,
        }
    }

    /// The backend's "now", given a time it reported (`base_ms`, e.g. a lease time) and when
    /// that was (`at`): the report plus the monotonic time since, so a host's wrong wall clock
    /// does not leak into due times. A manual clock is simply read.
    pub fn since(&self, base_ms: u64, at: Instant) -> u64 {
        match self {
            Clock::Manual(now) => now.load(Ordering::SeqCst),
            Clock::System | Clock::Skewed(_) => base_ms + at.elapsed().as_millis() as u64,
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        match self {
            Clock::System | Clock::Skewed(_) => panic!("the system clock cannot be advanced"),
            Clock::Manual(now) => {
                now.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
            }
        }
    }

    /// Whether time only moves by hand (waits must not sleep on it).
    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }
}

/// Wall-clock now in milliseconds since the Unix epoch.
pub fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
