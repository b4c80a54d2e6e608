//! The suite instantiated per backend: each case is its own test, so failures name the backend.

macro_rules! conformance {
    ($backend:ident, $factory:expr) => {
        mod $backend {
            use crate::{suite, support::Factory};

            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let factory = $factory;
                        suite::$name(&factory).await;
                        factory.cleanup().await;
                    }
                };
            }

            case!(one_job_per_key_at_a_time_in_enqueue_order);
            case!(order_within_a_key_beats_priority);
            case!(lanes_are_served_by_weight);
            case!(an_explicit_id_seen_before_is_a_duplicate);
            case!(a_delayed_job_starts_at_its_due_time);
            case!(retry_after_is_honoured_to_the_millisecond);
            case!(a_retry_waits_for_its_jittered_backoff);
            case!(exhausted_retries_dead_letter_and_the_key_moves_on);
            case!(a_permanent_failure_dead_letters_at_once);
            case!(a_panic_is_caught_and_counts_as_a_failure);
            case!(an_expired_lease_is_reclaimed_with_attempts_counted);
            case!(a_heartbeat_keeps_the_lease);
            case!(a_job_that_keeps_killing_its_consumer_dead_letters);
            case!(a_released_job_does_not_count_the_attempt);
            case!(the_dead_letter_api_lists_replays_and_purges);
            case!(stats_report_depth_in_flight_and_age);
            case!(an_enqueue_wakes_a_waiting_consumer);
            case!(the_runner_works_until_shutdown);
            case!(shutdown_releases_jobs_still_running_after_the_grace);
            case!(a_late_ack_of_a_stalled_worker_cannot_settle_the_chats_next_job);
            case!(two_acks_of_one_lease_in_a_batch_apply_once);
            case!(a_stale_heartbeat_is_refused_and_extends_nothing);
            case!(a_runner_that_lost_its_lease_stops_the_handler_and_settles_nothing);
            case!(skewed_host_clocks_neither_steal_leases_nor_delay_jobs);
            case!(retry_after_uses_no_attempts_and_is_bounded_in_time);
            case!(a_hung_handler_is_cancelled_at_its_deadline_as_a_retry);
            case!(dead_letters_expire_after_their_ttl);
        }
    };
}

conformance!(memory, crate::support::Memory);
conformance!(redis, crate::support::Redis::single());
