//! The conformance suite: what every backend must do. Time-dependent cases use a manual clock,
//! so they assert exact due times without sleeping and cannot flake.

use std::time::Duration;

use workers::{Ack, Broker, Clock, Job, Lane, NewJob, Outcome, QueueConfig, Runner, Settle};

use crate::support::{Factory, T0};

mod dead_letters;
mod fencing;
mod leases;
mod order;
mod timing;

pub(crate) use dead_letters::*;
pub(crate) use fencing::*;
pub(crate) use leases::*;
pub(crate) use order::*;
pub(crate) use timing::*;

pub(super) fn job(lane: Lane, key: &str, payload: &str) -> NewJob {
    NewJob::new("test", lane, key, payload.as_bytes().to_vec())
}

pub(super) fn payload(job: &Job) -> String {
    String::from_utf8(job.payload.clone()).unwrap()
}

pub(super) async fn done<B: Broker>(broker: &B, job: &Job) {
    let acked = broker
        .settle(vec![Ack {
            key: job.key.clone(),
            token: job.token,
            settle: Settle::Done,
        }])
        .await
        .unwrap();
    assert_eq!(acked, [true], "ack of {} applied", payload(job));
}

pub(super) async fn manual<F: Factory>(f: &F, config: QueueConfig) -> (F::B, Clock) {
    let clock = Clock::manual(T0);
    (f.make(config, clock.clone()).await, clock)
}

/// A runner whose handler answers with the outcome named in the payload's prefix.
pub(super) fn scripted<B: Broker>(
    broker: B,
) -> Runner<B, impl Fn(Job) -> futures::future::Ready<Outcome> + Send + Sync + 'static> {
    Runner::new(broker, |job: Job| {
        let text = String::from_utf8(job.payload.clone()).unwrap();
        let outcome = if text.starts_with("retry-after") {
            Outcome::RetryAfter(Duration::from_secs(5), "told to wait".into())
        } else if text.starts_with("retry") {
            Outcome::Retry("flaky upstream".into())
        } else if text.starts_with("permanent") {
            Outcome::Permanent("bad input".into())
        } else if text.starts_with("panic") {
            panic!("handler blew up on {text}");
        } else {
            Outcome::Done
        };
        futures::future::ready(outcome)
    })
    .concurrency(8)
}

/// Every case, for backends that run them one after another (the cluster).
pub(crate) async fn all<F: Factory>(f: &F) {
    one_job_per_key_at_a_time_in_enqueue_order(f).await;
    order_within_a_key_beats_priority(f).await;
    lanes_are_served_by_weight(f).await;
    an_explicit_id_seen_before_is_a_duplicate(f).await;
    a_delayed_job_starts_at_its_due_time(f).await;
    retry_after_is_honoured_to_the_millisecond(f).await;
    a_retry_waits_for_its_jittered_backoff(f).await;
    exhausted_retries_dead_letter_and_the_key_moves_on(f).await;
    a_permanent_failure_dead_letters_at_once(f).await;
    a_panic_is_caught_and_counts_as_a_failure(f).await;
    an_expired_lease_is_reclaimed_with_attempts_counted(f).await;
    a_heartbeat_keeps_the_lease(f).await;
    a_job_that_keeps_killing_its_consumer_dead_letters(f).await;
    a_released_job_does_not_count_the_attempt(f).await;
    the_dead_letter_api_lists_replays_and_purges(f).await;
    stats_report_depth_in_flight_and_age(f).await;
    an_enqueue_wakes_a_waiting_consumer(f).await;
    the_runner_works_until_shutdown(f).await;
    shutdown_releases_jobs_still_running_after_the_grace(f).await;
    a_late_ack_of_a_stalled_worker_cannot_settle_the_chats_next_job(f).await;
    two_acks_of_one_lease_in_a_batch_apply_once(f).await;
    a_stale_heartbeat_is_refused_and_extends_nothing(f).await;
    a_runner_that_lost_its_lease_stops_the_handler_and_settles_nothing(f).await;
    skewed_host_clocks_neither_steal_leases_nor_delay_jobs(f).await;
    retry_after_uses_no_attempts_and_is_bounded_in_time(f).await;
    a_hung_handler_is_cancelled_at_its_deadline_as_a_retry(f).await;
    dead_letters_expire_after_their_ttl(f).await;
}
