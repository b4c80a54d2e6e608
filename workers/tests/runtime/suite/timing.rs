//! Due times: delays, RetryAfter, jittered backoff; outcomes that end in the dead-letter queue.

use std::time::Duration;

use workers::{Broker, DeadLetters, Lane, Outcome, QueueConfig, Settle};

use super::{done, job, manual, payload, scripted};
use crate::support::{Factory, T0, test_config};

pub(crate) async fn a_delayed_job_starts_at_its_due_time<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker
        .enqueue(job(Lane::Normal, "k", "later").with_delay(Duration::from_millis(2000)))
        .await
        .unwrap();
    broker.enqueue(job(Lane::Normal, "k", "behind")).await.unwrap();
    let leased = broker.lease(10).await.unwrap();
    assert!(
        leased.jobs.is_empty(),
        "not before its due time, and the key's next job waits"
    );
    assert_eq!(
        leased.next_wake_ms,
        Some(T0 + 2000),
        "consumers learn when to wake"
    );
    clock.advance(Duration::from_millis(1999));
    assert!(broker.lease(10).await.unwrap().jobs.is_empty());
    clock.advance(Duration::from_millis(1));
    let jobs = broker.lease(10).await.unwrap().jobs;
    assert_eq!(jobs.iter().map(payload).collect::<Vec<_>>(), ["later"]);
    done(&broker, &jobs[0]).await;
    assert_eq!(payload(&broker.lease(10).await.unwrap().jobs[0]), "behind");
}

pub(crate) async fn retry_after_is_honoured_to_the_millisecond<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::High, "k", "retry-after")).await.unwrap();
    broker.enqueue(job(Lane::High, "k", "next")).await.unwrap();
    let runner = scripted(broker.clone());
    let ran = runner.try_execute().await.unwrap().expect("ran");
    assert_eq!(ran.settle, Settle::DeferUntil { due_ms: T0 + 5000 });
    clock.advance(Duration::from_millis(4999));
    assert!(
        runner.try_execute().await.unwrap().is_none(),
        "not a millisecond early, and `next` waits behind it"
    );
    clock.advance(Duration::from_millis(1));
    let again = runner.try_execute().await.unwrap().expect("due now");
    assert_eq!(
        (payload(&again.job), again.job.attempts),
        ("retry-after".into(), 1),
        "waiting did not use up the attempt"
    );
}

pub(crate) async fn a_retry_waits_for_its_jittered_backoff<F: Factory>(f: &F) {
    let config = QueueConfig {
        max_attempts: 10,
        ..test_config()
    };
    let (broker, clock) = manual(f, config.clone()).await;
    broker.enqueue(job(Lane::Normal, "k", "retry")).await.unwrap();
    let runner = scripted(broker.clone());
    for attempt in 1..=4u32 {
        let ran = runner.try_execute().await.unwrap().expect("due");
        assert_eq!(ran.job.attempts, attempt);
        let now = clock.now_ms();
        let Settle::RetryAt { due_ms } = ran.settle else {
            panic!("expected a retry, got {:?}", ran.settle)
        };
        let bound = workers::backoff_bound(config.backoff_base, config.backoff_cap, attempt);
        assert!(
            due_ms >= now && due_ms <= now + bound.as_millis() as u64,
            "due {due_ms} within full-jitter bound {bound:?}"
        );
        if due_ms > now {
            clock.advance(Duration::from_millis(due_ms - now - 1));
            assert!(
                runner.try_execute().await.unwrap().is_none(),
                "not before its due time"
            );
            clock.advance(Duration::from_millis(1));
        }
    }
}

pub(crate) async fn exhausted_retries_dead_letter_and_the_key_moves_on<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker
        .enqueue(job(Lane::Normal, "k", "retry").with_id("doomed"))
        .await
        .unwrap();
    broker.enqueue(job(Lane::Normal, "k", "after")).await.unwrap();
    let runner = scripted(broker.clone());
    let mut last = None;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(10));
        last = runner.try_execute().await.unwrap();
    }
    let last = last.expect("third attempt ran");
    assert_eq!(last.job.attempts, 3);
    assert!(matches!(last.settle, Settle::Dead { .. }), "{:?}", last.settle);
    let next = runner
        .try_execute()
        .await
        .unwrap()
        .expect("the key's next job is not blocked");
    assert_eq!(payload(&next.job), "after");
    let letter = DeadLetters::new(broker.clone())
        .show("doomed")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        (
            letter.class.as_str(),
            letter.error.as_str(),
            letter.attempts,
            letter.key.as_str(),
            letter.lane
        ),
        ("retries_exhausted", "flaky upstream", 3, "k", Lane::Normal)
    );
    assert_eq!(letter.first_attempt_at_ms, T0 + 10_000);
    assert_eq!(letter.last_attempt_at_ms, T0 + 30_000);
    assert_eq!(letter.payload, b"retry");
}

pub(crate) async fn a_permanent_failure_dead_letters_at_once<F: Factory>(f: &F) {
    let (broker, _) = manual(f, test_config()).await;
    broker
        .enqueue(job(Lane::High, "k", "permanent").with_id("p1"))
        .await
        .unwrap();
    broker.enqueue(job(Lane::High, "k", "ok")).await.unwrap();
    let ran = scripted(broker.clone()).run_pending().await.unwrap();
    assert_eq!(
        ran.iter().map(|e| payload(&e.job)).collect::<Vec<_>>(),
        ["permanent", "ok"]
    );
    let letter = DeadLetters::new(broker.clone())
        .show("p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((letter.class.as_str(), letter.attempts), ("permanent", 1));
}

pub(crate) async fn a_panic_is_caught_and_counts_as_a_failure<F: Factory>(f: &F) {
    let config = QueueConfig {
        max_attempts: 2,
        ..test_config()
    };
    let (broker, clock) = manual(f, config).await;
    broker
        .enqueue(job(Lane::Low, "k", "panic").with_id("boom"))
        .await
        .unwrap();
    let runner = scripted(broker.clone());
    let first = runner.try_execute().await.unwrap().unwrap();
    assert!(
        matches!(&first.outcome, Outcome::Retry(e) if e.contains("handler blew up")),
        "{:?}",
        first.outcome
    );
    assert!(matches!(first.settle, Settle::RetryAt { .. }));
    clock.advance(Duration::from_secs(10));
    let second = runner.try_execute().await.unwrap().unwrap();
    assert!(matches!(&second.settle, Settle::Dead { .. }));
    let letter = DeadLetters::new(broker).show("boom").await.unwrap().unwrap();
    assert_eq!((letter.class.as_str(), letter.attempts), ("panic", 2));
}
