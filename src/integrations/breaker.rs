//! A circuit breaker: closed → open after N consecutive failures → half-open after a pause,
//! where one probe decides between closed and open again.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// Where a breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// One probe call is allowed; its result decides.
    HalfOpen,
    /// Calls are refused at once.
    Open,
}

impl BreakerState {
    /// Gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
}

/// A breaker shared by every task of one process. Time is passed in, so tests drive it.
#[derive(Debug, Clone)]
pub struct Breaker {
    service: &'static str,
    failures_to_open: u32,
    open_for: Duration,
    inner: Arc<Mutex<Inner>>,
}

impl Breaker {
    /// A closed breaker that opens after `failures_to_open` consecutive failures for `open_for`.
    pub fn new(service: &'static str, failures_to_open: u32, open_for: Duration) -> Self {
        let breaker = Self {
            service,
            failures_to_open: failures_to_open.max(1),
            open_for,
            inner: Arc::new(Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at: None,
                probe_in_flight: false,
            })),
        };
        breaker.publish(BreakerState::Closed);
        breaker
    }

    // A std Mutex: held for a few instructions, never across an await.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, state: BreakerState) {
        metrics::gauge!(super::BREAKER_STATE, "service" => self.service).set(state.gauge());
    }

    /// Current state (an open breaker whose pause is over reads as half-open).
    pub fn state(&self) -> BreakerState {
        self.state_at(Instant::now())
    }

    /// State at `now`.
    pub fn state_at(&self, now: Instant) -> BreakerState {
        let inner = self.lock();
        match (inner.state, inner.opened_at) {
            (BreakerState::Open, Some(at)) if now.duration_since(at) >= self.open_for => {
                BreakerState::HalfOpen
            }
            (state, _) => state,
        }
    }

    /// May a call start at `now`? `Err(wait)` says how long until a probe is allowed.
    pub fn admit(&self, now: Instant) -> Result<(), Duration> {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open => {
                let opened = inner.opened_at.unwrap_or(now);
                let elapsed = now.duration_since(opened);
                if elapsed >= self.open_for {
                    inner.state = BreakerState::HalfOpen;
                    inner.probe_in_flight = true;
                    drop(inner);
                    self.publish(BreakerState::HalfOpen);
                    tracing::info!(service = self.service, "breaker half-open: probing");
                    Ok(())
                } else {
                    Err(self.open_for - elapsed)
                }
            }
            BreakerState::HalfOpen if !inner.probe_in_flight => {
                inner.probe_in_flight = true;
                Ok(())
            }
            // One probe at a time; others wait for its verdict.
            BreakerState::HalfOpen => Err(Duration::from_secs(1)),
        }
    }

    /// Records the result of an admitted call.
    pub fn record(&self, success: bool, now: Instant) {
        let mut inner = self.lock();
        inner.probe_in_flight = false;
        let before = inner.state;
        if success {
            inner.state = BreakerState::Closed;
            inner.consecutive_failures = 0;
            inner.opened_at = None;
        } else {
            inner.consecutive_failures += 1;
            if before == BreakerState::HalfOpen || inner.consecutive_failures >= self.failures_to_open {
                inner.state = BreakerState::Open;
                inner.opened_at = Some(now);
            }
        }
        let after = inner.state;
        drop(inner);
        if after != before {
            self.publish(after);
            tracing::warn!(service = self.service, from = ?before, to = ?after, "breaker changed state");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_half_opens_and_closes_on_a_good_probe() {
        let t0 = Instant::now();
        let b = Breaker::new("test", 3, Duration::from_secs(30));
        for _ in 0..2 {
            assert!(b.admit(t0).is_ok());
            b.record(false, t0);
        }
        assert_eq!(b.state_at(t0), BreakerState::Closed);
        assert!(b.admit(t0).is_ok());
        b.record(false, t0);
        assert_eq!(b.state_at(t0), BreakerState::Open);
        assert_eq!(
            b.admit(t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(20))
        );
        let later = t0 + Duration::from_secs(30);
        assert_eq!(b.state_at(later), BreakerState::HalfOpen);
        assert!(b.admit(later).is_ok(), "one probe goes through");
        assert!(b.admit(later).is_err(), "a second call waits for the probe");
        b.record(true, later);
        assert_eq!(b.state_at(later), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_and_a_success_resets_the_count() {
        let t0 = Instant::now();
        let b = Breaker::new("test", 2, Duration::from_secs(5));
        b.record(false, t0);
        b.record(true, t0);
        b.record(false, t0);
        assert_eq!(
            b.state_at(t0),
            BreakerState::Closed,
            "failures must be consecutive"
        );
        b.record(false, t0);
        assert_eq!(b.state_at(t0), BreakerState::Open);
        let later = t0 + Duration::from_secs(5);
        assert!(b.admit(later).is_ok());
        b.record(false, later);
        assert_eq!(b.state_at(later), BreakerState::Open);
        assert!(b.admit(later + Duration::from_secs(1)).is_err());
    }
}

#[cfg(test)]
mod metrics_tests {
    use super::*;

    #[test]
    fn breaker_state_is_published_as_a_gauge() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let t0 = Instant::now();
            let b = Breaker::new("gauge test", 1, Duration::from_secs(30));
            assert!(
                handle
                    .render()
                    .contains(r#"ava_breaker_state{service="gauge test"} 0"#)
            );
            b.record(false, t0);
            assert!(
                handle
                    .render()
                    .contains(r#"ava_breaker_state{service="gauge test"} 2"#)
            );
            assert!(b.admit(t0 + Duration::from_secs(30)).is_ok());
            assert!(
                handle
                    .render()
                    .contains(r#"ava_breaker_state{service="gauge test"} 1"#)
            );
        });
    }
}
