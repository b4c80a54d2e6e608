//! Saying a recurring failure once per interval. While Redis or Postgres is down the same error
//! comes back on every request and every tick; logging each one buries everything else.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// Lets one log line through per interval and counts the ones it held back.
#[derive(Debug)]
pub struct Throttle {
    every_ms: u64,
    last_ms: AtomicU64,
    held: AtomicU64,
}

impl Throttle {
    /// At most one line per `every`.
    pub const fn new(every: Duration) -> Self {
        Self {
            every_ms: every.as_millis() as u64,
            last_ms: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now (`n` lines were held back since the last one);
    /// `None` when this one should be held back.
    pub fn check(&self) -> Option<u64> {
        self.check_at(now_ms())
    }

    fn check_at(&self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if last != 0 && now_ms < last.saturating_add(self.every_ms) {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // One caller wins the slot; the others count as held back.
        if self
            .last_ms
            .compare_exchange(last, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(self.held.swap(0, Ordering::Relaxed))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_and_the_rest_are_counted() {
        let throttle = Throttle::new(Duration::from_secs(10));
        assert_eq!(throttle.check_at(1_000), Some(0));
        assert_eq!(throttle.check_at(1_001), None);
        assert_eq!(throttle.check_at(10_999), None);
        assert_eq!(throttle.check_at(11_000), Some(2), "two were held back");
        assert_eq!(throttle.check_at(11_500), None);
    }
}
