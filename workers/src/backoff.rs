//! Retry delays: exponential backoff with full jitter (AWS architecture blog, "Exponential
//! Backoff And Jitter"): a delay drawn uniformly from zero to `min(cap, base * 2^(attempt-1))`,
//! which spreads retries of many jobs failing together instead of moving them in lockstep.

use std::time::Duration;

use rand::Rng;

/// The upper bound of the delay after failed attempt number `attempt` (1-based).
pub fn backoff_bound(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    base.saturating_mul(1u32 << doublings.min(31)).min(cap)
}

/// A delay for failed attempt `attempt`, drawn with `rng` from `0..=bound`.
pub fn full_jitter(base: Duration, cap: Duration, attempt: u32, rng: &mut impl Rng) -> Duration {
    let bound = backoff_bound(base, cap, attempt).as_millis() as u64;
    Duration::from_millis(rng.random_range(0..=bound))
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn the_bound_doubles_then_stops_at_the_cap() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(1));
        let bounds: Vec<u64> = (1..=6)
            .map(|a| backoff_bound(base, cap, a).as_millis() as u64)
            .collect();
        assert_eq!(bounds, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff_bound(base, cap, 1000), cap);
    }

    #[test]
    fn jitter_stays_under_the_bound_and_spreads_over_it() {
        let (base, cap) = (Duration::from_millis(100), Duration::from_secs(10));
        let mut rng = StdRng::seed_from_u64(7);
        let draws: Vec<u64> = (0..2000)
            .map(|_| full_jitter(base, cap, 4, &mut rng).as_millis() as u64)
            .collect();
        assert!(draws.iter().all(|d| *d <= 800));
        // Full jitter: both ends of 0..=800 get used, not a narrow band around the bound.
        assert!(draws.iter().any(|d| *d < 80) && draws.iter().any(|d| *d > 720));
        let mean = draws.iter().sum::<u64>() as f64 / draws.len() as f64;
        assert!((360.0..440.0).contains(&mean), "mean {mean}");
    }
}
