//! The job runtime's record in Postgres: one `job_attempts` row per attempt this worker runs, and
//! a `dead_letters` row for each job an attempt sends to the dead-letter queue (the runner's
//! attempt hook). Dead letters made elsewhere (expired leases) are mirrored by
//! `dead_letter_mirror`.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;
use workers::{Executed, Outcome, Settle};

use crate::store::{DeadLetter, JobAttempt, LogWriter};

/// The runner's attempt hook: records the attempt and, if it dead-lettered the job, the dead
/// letter. `LogWriter::record` returns at once unless the writer is at its bound; then the job
/// keeps its slot until there is room, which is the writer's back-pressure reaching the runner.
pub(super) fn attempt_hook(
    log: LogWriter,
    worker: String,
) -> impl Fn(&Executed) -> BoxFuture<'static, ()> + Send + Sync + 'static {
    move |executed: &Executed| {
        // A deferral (RetryAfter: a 429 or AVA's own limits) is not an attempt: the job runs
        // again under the same attempt number, whose row must be the one that really ended it
        // (`job_attempts` is unique by job and attempt). A 429 is logged in rate_limit_violations.
        let attempt =
            (!matches!(executed.settle, Settle::DeferUntil { .. })).then(|| attempt_row(executed, &worker));
        let dead = settled_dead_letter(executed);
        let log = log.clone();
        Box::pin(async move {
            if let Some(attempt) = attempt {
                log.record(attempt).await;
            }
            if let Some(dead) = dead {
                log.record(dead).await;
            }
        })
    }
}

/// The `job_attempts` row of one attempt. A retryable failure whose attempts ran out is still
/// `retry` (or `panic`): that is how the attempt ended; `retry_in_ms` is then empty and the
/// dead letter says why the job stopped.
pub(super) fn attempt_row(executed: &Executed, worker: &str) -> JobAttempt {
    let job = &executed.job;
    let (outcome, error) = match &executed.outcome {
        Outcome::Done => ("done", None),
        Outcome::Permanent(e) => ("permanent", Some(e.clone())),
        Outcome::Retry(e) | Outcome::RetryAfter(_, e) if executed.panicked => ("panic", Some(e.clone())),
        Outcome::Retry(e) | Outcome::RetryAfter(_, e) => ("retry", Some(e.clone())),
    };
    let retry_in_ms = match executed.settle {
        Settle::RetryAt { due_ms } => Some(due_ms.saturating_sub(executed.finished_at_ms) as i64),
        _ => None,
    };
    JobAttempt {
        job_id: job.id.clone(),
        attempt: job.attempts as i32,
        kind: job.kind.clone(),
        lane: job.lane.as_str().to_owned(),
        job_key: job.key.clone(),
        worker: Some(worker.to_owned()),
        started_at: at(executed.started_at_ms),
        finished_at: at(executed.finished_at_ms),
        outcome: outcome.to_owned(),
        error,
        retry_in_ms,
    }
}

/// The dead letter an attempt made, if its settle decision was the dead-letter queue.
///
/// `failed_at` is the end of the attempt; the queue stamps its own time of death a moment later
/// when the ack lands, and the mirror brings the row to that time on its next run. If the ack
/// is refused as stale (the lease was lost and the job runs again elsewhere), this row stands
/// for a death the queue never recorded; that takes a lease lost mid-job and then a different
/// outcome on the next run, and the mirror cannot tell it apart from a dead letter purged
/// without an audit, so it is left as is.
pub(super) fn settled_dead_letter(executed: &Executed) -> Option<DeadLetter> {
    let Settle::Dead { class, error } = &executed.settle else {
        return None;
    };
    let job = &executed.job;
    Some(DeadLetter {
        job_id: job.id.clone(),
        kind: job.kind.clone(),
        lane: job.lane.as_str().to_owned(),
        job_key: job.key.clone(),
        payload: payload_json(&job.payload),
        error: error.clone(),
        error_class: Some(class.as_str().to_owned()),
        attempts: job.attempts as i32,
        enqueued_at: Some(at(job.enqueued_at_ms)),
        first_attempt_at: Some(at(job.first_attempt_at_ms)),
        last_attempt_at: Some(at(job.leased_at_ms)),
        failed_at: at(executed.finished_at_ms),
    })
}

/// The `dead_letters` row of a dead letter as the queue stores it.
pub(super) fn mirrored_dead_letter(letter: &workers::DeadLetter) -> DeadLetter {
    DeadLetter {
        job_id: letter.id.clone(),
        kind: letter.kind.clone(),
        lane: letter.lane.as_str().to_owned(),
        job_key: letter.key.clone(),
        payload: payload_json(&letter.payload),
        error: letter.error.clone(),
        error_class: Some(letter.class.clone()),
        attempts: letter.attempts as i32,
        enqueued_at: Some(at(letter.enqueued_at_ms)),
        first_attempt_at: Some(at(letter.first_attempt_at_ms)),
        last_attempt_at: Some(at(letter.last_attempt_at_ms)),
        failed_at: at(letter.dead_at_ms),
    }
}

/// The attempt whose lease expired for the last time: no worker lived to record it, so the
/// mirror does, from the dead letter's times. Earlier expired leases of the same job show as
/// gaps in its attempt numbers; their start times are not kept anywhere.
pub(super) fn expired_attempt(letter: &workers::DeadLetter) -> Option<JobAttempt> {
    (letter.class == workers::ErrorClass::LeaseExpired.as_str()).then(|| JobAttempt {
        job_id: letter.id.clone(),
        attempt: letter.attempts as i32,
        kind: letter.kind.clone(),
        lane: letter.lane.as_str().to_owned(),
        job_key: letter.key.clone(),
        worker: None,
        started_at: at(letter.last_attempt_at_ms),
        finished_at: at(letter.dead_at_ms),
        outcome: "lease_expired".to_owned(),
        error: Some(letter.error.clone()),
        retry_in_ms: None,
    })
}

/// A queue time (ms since the epoch) as a timestamp.
pub(super) fn at(ms: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms as i64).unwrap_or_default()
}

/// Payloads are opaque bytes; the column is JSON. Non-JSON payloads are kept as a JSON string.
fn payload_json(payload: &[u8]) -> Value {
    serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()))
}

#[cfg(test)]
mod tests {
    use workers::{ErrorClass, Job, Lane};

    use super::*;

    fn executed(outcome: Outcome, panicked: bool, settle: Settle) -> Executed {
        Executed {
            job: Job {
                id: "j".into(),
                kind: "telegram_update".into(),
                lane: Lane::High,
                key: "42".into(),
                payload: b"not json".to_vec(),
                attempts: 2,
                enqueued_at_ms: 1_000,
                first_attempt_at_ms: 2_000,
                leased_at_ms: 5_000,
                replayed_from: vec![],
                token: 7,
            },
            outcome,
            panicked,
            settle,
            started_at_ms: 5_001,
            finished_at_ms: 5_050,
        }
    }

    #[test]
    fn attempts_are_named_by_how_they_ended() {
        let retry = executed(
            Outcome::Retry("flaky".into()),
            false,
            Settle::RetryAt { due_ms: 5_550 },
        );
        let row = attempt_row(&retry, "w");
        assert_eq!((row.outcome.as_str(), row.retry_in_ms), ("retry", Some(500)));
        assert_eq!(
            (row.attempt, row.started_at, row.finished_at),
            (2, at(5_001), at(5_050))
        );
        let panic = executed(
            Outcome::Retry("panic: x".into()),
            true,
            Settle::RetryAt { due_ms: 6_000 },
        );
        assert_eq!(attempt_row(&panic, "w").outcome, "panic");
        let done = executed(Outcome::Done, false, Settle::Done);
        assert_eq!(
            (
                attempt_row(&done, "w").outcome.as_str(),
                attempt_row(&done, "w").error
            ),
            ("done", None)
        );
        assert!(settled_dead_letter(&done).is_none());
    }

    #[test]
    fn a_dead_settle_is_a_dead_letter_with_its_class_and_times() {
        let dead = Settle::Dead {
            class: ErrorClass::Permanent,
            error: "bad".into(),
        };
        let e = executed(Outcome::Permanent("bad".into()), false, dead);
        assert_eq!(attempt_row(&e, "w").outcome, "permanent");
        let letter = settled_dead_letter(&e).expect("dead letter");
        assert_eq!(letter.error_class.as_deref(), Some("permanent"));
        assert_eq!(letter.payload, Value::String("not json".into()));
        assert_eq!(
            (letter.first_attempt_at, letter.last_attempt_at, letter.failed_at),
            (Some(at(2_000)), Some(at(5_000)), at(5_050))
        );
    }
}
