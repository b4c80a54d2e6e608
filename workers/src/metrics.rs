//! The runtime's metrics, emitted through the `metrics` facade; the application installs the
//! recorder (one Prometheus exporter). Each name is declared here once with its help text.

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

use crate::{Lane, QueueStats, Settle};

/// Jobs queued and not finished, per lane (gauge, label `lane`).
pub const QUEUE_DEPTH: &str = "ava_queue_depth";
/// Age of the job at the front of a lane's ready keys (gauge, seconds, label `lane`).
pub const QUEUE_OLDEST_AGE: &str = "ava_queue_oldest_age_seconds";
/// Jobs leased right now across all consumers (gauge).
pub const QUEUE_IN_FLIGHT: &str = "ava_queue_in_flight";
/// Dead letters stored (gauge).
pub const QUEUE_DEAD: &str = "ava_queue_dead_letters";
/// Jobs finished successfully (counter, label `lane`).
pub const JOBS_DONE: &str = "ava_jobs_done_total";
/// Attempts that failed and will be retried (counter, label `lane`).
pub const JOBS_RETRIED: &str = "ava_jobs_retried_total";
/// Attempts that failed, retried or not, panics included (counter, label `lane`).
pub const JOBS_FAILED: &str = "ava_jobs_failed_total";
/// Jobs moved to the dead-letter queue (counter, label `lane`).
pub const JOBS_DEAD: &str = "ava_jobs_dead_total";
/// Acks and heartbeats refused because their lease had been lost: the consumer stalled past it,
/// and the job (or its key's next one) may be running elsewhere (counter).
pub const ACKS_STALE: &str = "ava_queue_stale_acks_total";
/// How long a job attempt ran (histogram, seconds, label `lane`).
pub const JOB_DURATION: &str = "ava_job_duration_seconds";
/// From enqueue to the start of the first attempt (histogram, seconds, label `lane`).
pub const ENQUEUE_TO_START: &str = "ava_job_enqueue_to_start_seconds";

/// Registers help texts; call once after installing the recorder.
pub fn describe() {
    describe_gauge!(QUEUE_DEPTH, "Jobs queued and not finished, per lane");
    describe_gauge!(
        QUEUE_OLDEST_AGE,
        Unit::Seconds,
        "Age of the oldest ready job per lane"
    );
    describe_gauge!(QUEUE_IN_FLIGHT, "Jobs leased right now across all consumers");
    describe_gauge!(QUEUE_DEAD, "Dead letters stored");
    describe_counter!(JOBS_DONE, "Jobs finished successfully");
    describe_counter!(JOBS_RETRIED, "Failed attempts that will be retried");
    describe_counter!(JOBS_FAILED, "Failed attempts, panics included");
    describe_counter!(JOBS_DEAD, "Jobs moved to the dead-letter queue");
    describe_counter!(
        ACKS_STALE,
        "Acks and heartbeats refused because their lease had been lost"
    );
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Duration of one job attempt");
    describe_histogram!(ENQUEUE_TO_START, Unit::Seconds, "Enqueue to first start");
}

/// Sets the queue gauges from a snapshot; runners call it every `stats_interval`.
pub fn record_queue_stats(stats: &QueueStats) {
    for lane in Lane::ALL {
        let s = &stats.lanes[lane.index()];
        gauge!(QUEUE_DEPTH, "lane" => lane.as_str()).set(s.depth as f64);
        gauge!(QUEUE_OLDEST_AGE, "lane" => lane.as_str()).set(s.oldest_age_ms.unwrap_or(0) as f64 / 1000.0);
    }
    gauge!(QUEUE_IN_FLIGHT).set(stats.in_flight as f64);
    gauge!(QUEUE_DEAD).set(stats.dead as f64);
}

pub(crate) fn record_start(lane: Lane, attempts: u32, waited_ms: u64) {
    if attempts == 1 {
        histogram!(ENQUEUE_TO_START, "lane" => lane.as_str()).record(waited_ms as f64 / 1000.0);
    }
}

pub(crate) fn record_end(lane: Lane, seconds: f64, settle: &Settle) {
    let lane = lane.as_str();
    histogram!(JOB_DURATION, "lane" => lane).record(seconds);
    match settle {
        Settle::Done => counter!(JOBS_DONE, "lane" => lane).increment(1),
        Settle::RetryAt { .. } => {
            counter!(JOBS_FAILED, "lane" => lane).increment(1);
            counter!(JOBS_RETRIED, "lane" => lane).increment(1);
        }
        Settle::Dead { .. } => {
            counter!(JOBS_FAILED, "lane" => lane).increment(1);
            counter!(JOBS_DEAD, "lane" => lane).increment(1);
        }
        Settle::DeferUntil { .. } | Settle::Release => {}
    }
}

pub(crate) fn record_lease_deaths(count: u32) {
    if count > 0 {
        counter!(JOBS_DEAD, "lane" => "unknown").increment(u64::from(count));
    }
}

pub(crate) fn record_stale(count: usize) {
    if count > 0 {
        counter!(ACKS_STALE).increment(count as u64);
    }
}
