//! The runtime's knobs: lane weights, attempts, backoff, leases, dedupe, batching, deadlines,
//! deferral bound and dead-letter retention.

use std::time::Duration;

use crate::Lane;

/// How a queue behaves. The app fills this from its `[queue]` configuration section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Share of leases per lane when all lanes are backlogged: `[high, normal, low]`.
    pub weights: [u32; 3],
    /// Attempts (starts) before a failing job is dead-lettered.
    pub max_attempts: u32,
    /// First retry delay bound; doubles per attempt (full jitter below the bound).
    pub backoff_base: Duration,
    /// Largest retry delay bound.
    pub backoff_cap: Duration,
    /// How long a lease lasts without a heartbeat before the job is handed out again.
    pub lease_duration: Duration,
    /// How often a runner renews the leases of its running jobs.
    pub heartbeat_interval: Duration,
    /// How long an explicit job id is remembered for deduplication.
    pub dedupe_window: Duration,
    /// Most jobs leased or acknowledged in one round trip.
    pub batch_size: usize,
    /// How long one attempt may run before it is cancelled and retried; a runner may set its own
    /// per job kind ([`Runner::job_timeout`](crate::Runner::job_timeout)).
    pub job_timeout: Duration,
    /// How long `RetryAfter` may keep deferring a job, from its first attempt, before it is
    /// dead-lettered (deferrals use up no attempts).
    pub max_defer: Duration,
    /// How long a dead letter is kept (mirror it elsewhere before then).
    pub dead_letter_ttl: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            weights: [6, 3, 1],
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(300),
            lease_duration: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(10),
            dedupe_window: Duration::from_secs(24 * 3600),
            batch_size: 64,
            job_timeout: Duration::from_secs(60),
            max_defer: Duration::from_secs(3600),
            dead_letter_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// A setting that cannot work, named by its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("queue setting `{field}`: {problem}")]
pub struct ConfigProblem {
    /// Field name as in [`QueueConfig`].
    pub field: &'static str,
    /// What is wrong.
    pub problem: String,
}

impl QueueConfig {
    /// The weight of `lane`.
    pub fn weight(&self, lane: Lane) -> u32 {
        self.weights[lane.index()]
    }

    /// Checks the values against each other.
    pub fn validate(&self) -> Result<(), ConfigProblem> {
        let problem = |field: &'static str, problem: &str| {
            Err(ConfigProblem {
                field,
                problem: problem.to_owned(),
            })
        };
        if self.weights.contains(&0) || self.weights.iter().any(|w| *w > 1000) {
            // A zero weight would starve a lane, which the lanes exist to prevent.
            return problem("weights", "each lane weight must be between 1 and 1000");
        }
        if self.max_attempts == 0 {
            return problem("max_attempts", "must be at least 1");
        }
        if self.backoff_base.is_zero() || self.backoff_cap < self.backoff_base {
            return problem("backoff_base", "must be above zero and not above backoff_cap");
        }
        if self.lease_duration < Duration::from_secs(1) {
            return problem("lease_duration", "must be at least 1 s");
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval * 2 > self.lease_duration {
            // Two heartbeats per lease at least, so one late heartbeat does not lose the lease.
            return problem(
                "heartbeat_interval",
                "must be above zero and at most half of lease_duration",
            );
        }
        if self.dedupe_window.is_zero() {
            return problem("dedupe_window", "must be above zero");
        }
        if self.batch_size == 0 || self.batch_size > 1000 {
            return problem("batch_size", "must be between 1 and 1000");
        }
        if self.job_timeout < Duration::from_millis(1) {
            return problem("job_timeout", "must be above zero");
        }
        if self.max_defer < Duration::from_secs(1) {
            return problem("max_defer", "must be at least 1 s");
        }
        if self.dead_letter_ttl < Duration::from_secs(3600) {
            // Shorter than the mirror's catch-up after an outage would lose dead letters unseen.
            return problem("dead_letter_ttl", "must be at least 1 h");
        }
        Ok(())
    }
}
