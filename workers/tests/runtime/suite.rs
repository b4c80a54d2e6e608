//! The conformance suite: what every backend must do. Time-dependent cases use a manual clock,
//! so they assert exact due times without sleeping and cannot flake.

use std::{collections::HashMap, time::Duration};

use workers::{
    Ack, Broker, Clock, DeadLetterFilter, DeadLetters, Enqueued, Job, Lane, NewJob, Outcome, QueueConfig,
    Runner, Selection, Settle,
};

use crate::support::{Factory, T0, test_config};

fn job(lane: Lane, key: &str, payload: &str) -> NewJob {
    NewJob::new("test", lane, key, payload.as_bytes().to_vec())
}

fn payload(job: &Job) -> String {
    String::from_utf8(job.payload.clone()).unwrap()
}

async fn done<B: Broker>(broker: &B, job: &Job) {
    let acked = broker
        .settle(vec![Ack {
            key: job.key.clone(),
            attempt: job.attempts,
            settle: Settle::Done,
        }])
        .await
        .unwrap();
    assert_eq!(acked, [true], "ack of {} applied", payload(job));
}

async fn manual<F: Factory>(f: &F, config: QueueConfig) -> (F::B, Clock) {
    let clock = Clock::manual(T0);
    (f.make(config, clock.clone()).await, clock)
}

/// A runner whose handler answers with the outcome named in the payload's prefix.
fn scripted<B: Broker>(
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

pub(crate) async fn one_job_per_key_at_a_time_in_enqueue_order<F: Factory>(f: &F) {
    let (broker, _) = manual(f, test_config()).await;
    for i in 0..3 {
        broker
            .enqueue(job(Lane::Normal, "a", &format!("a{i}")))
            .await
            .unwrap();
        broker
            .enqueue(job(Lane::Normal, "b", &format!("b{i}")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let leased = broker.lease(10).await.unwrap();
        let mut keys: Vec<&str> = leased.jobs.iter().map(|j| j.key.as_str()).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["a", "b"],
            "one job per key per lease, both keys in parallel"
        );
        assert!(
            broker.lease(10).await.unwrap().jobs.is_empty(),
            "a leased key offers nothing more"
        );
        for j in &leased.jobs {
            seen.push(payload(j));
            done(&broker, j).await;
        }
    }
    seen.sort();
    assert_eq!(seen, ["a0", "a1", "a2", "b0", "b1", "b2"]);
    assert!(broker.lease(10).await.unwrap().jobs.is_empty());
}

pub(crate) async fn order_within_a_key_beats_priority<F: Factory>(f: &F) {
    let (broker, _) = manual(f, test_config()).await;
    broker
        .enqueue(job(Lane::Low, "chat", "first, low"))
        .await
        .unwrap();
    broker
        .enqueue(job(Lane::High, "chat", "second, high"))
        .await
        .unwrap();
    broker
        .enqueue(job(Lane::High, "other", "other, high"))
        .await
        .unwrap();
    let first = broker.lease(10).await.unwrap().jobs;
    let mut got: Vec<String> = first.iter().map(payload).collect();
    got.sort();
    assert_eq!(got, ["first, low", "other, high"]);
    for j in &first {
        done(&broker, j).await;
    }
    let next = broker.lease(10).await.unwrap().jobs;
    assert_eq!(next.len(), 1);
    assert_eq!(
        (payload(&next[0]), next[0].lane),
        ("second, high".into(), Lane::High)
    );
}

pub(crate) async fn lanes_are_served_by_weight<F: Factory>(f: &F) {
    let (broker, _) = manual(f, test_config()).await;
    let mut jobs = Vec::new();
    for lane in Lane::ALL {
        for i in 0..400 {
            jobs.push(job(lane, &format!("{lane}-{i}"), "x"));
        }
    }
    broker.enqueue_many(jobs).await.unwrap();
    let mut served: HashMap<Lane, usize> = HashMap::new();
    let mut total = 0;
    while total < 500 {
        let leased = broker.lease(7).await.unwrap().jobs;
        for j in &leased {
            *served.entry(j.lane).or_default() += 1;
            done(&broker, j).await;
        }
        total += leased.len();
    }
    for (lane, want) in [(Lane::High, 0.6), (Lane::Normal, 0.3), (Lane::Low, 0.1)] {
        let share = served[&lane] as f64 / total as f64;
        assert!(
            (share - want).abs() <= 0.1 * want,
            "{lane} got {share:.3}, weight share {want}"
        );
    }
}

pub(crate) async fn an_explicit_id_seen_before_is_a_duplicate<F: Factory>(f: &F) {
    let (broker, _) = manual(f, test_config()).await;
    let first = broker
        .enqueue(job(Lane::Normal, "k", "x").with_id("update-1"))
        .await
        .unwrap();
    assert_eq!(first, Enqueued::Queued("update-1".into()));
    let again = broker
        .enqueue(job(Lane::Normal, "k", "x").with_id("update-1"))
        .await
        .unwrap();
    assert_eq!(again, Enqueued::Duplicate);
    let batch = broker
        .enqueue_many(vec![
            job(Lane::Normal, "k", "y").with_id("update-2"),
            job(Lane::Normal, "k", "y").with_id("update-2"),
        ])
        .await
        .unwrap();
    assert_eq!(batch, [Enqueued::Queued("update-2".into()), Enqueued::Duplicate]);
    assert_eq!(broker.stats().await.unwrap().lanes[1].depth, 2);
    let bad = broker.enqueue(job(Lane::Normal, "k", "x").with_id("a|b")).await;
    assert!(bad.is_err(), "ids with separators are refused");
}

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
    assert_eq!(ran.settle, Settle::RetryAt { due_ms: T0 + 5000 });
    clock.advance(Duration::from_millis(4999));
    assert!(
        runner.try_execute().await.unwrap().is_none(),
        "not a millisecond early, and `next` waits behind it"
    );
    clock.advance(Duration::from_millis(1));
    let again = runner.try_execute().await.unwrap().expect("due now");
    assert_eq!(
        (payload(&again.job), again.job.attempts),
        ("retry-after".into(), 2)
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

pub(crate) async fn an_expired_lease_is_reclaimed_with_attempts_counted<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::Normal, "k", "x")).await.unwrap();
    let first = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    assert_eq!(first.attempts, 1);
    clock.advance(Duration::from_millis(1999));
    assert!(
        broker.lease(1).await.unwrap().jobs.is_empty(),
        "lease still valid"
    );
    clock.advance(Duration::from_millis(1));
    let second = broker
        .lease(1)
        .await
        .unwrap()
        .jobs
        .pop()
        .expect("reclaimed after expiry");
    assert_eq!((second.attempts, second.id.clone()), (2, first.id.clone()));
    let stale = broker
        .settle(vec![Ack {
            key: "k".into(),
            attempt: 1,
            settle: Settle::Done,
        }])
        .await
        .unwrap();
    assert_eq!(stale, [false], "the dead consumer's late ack is refused");
    done(&broker, &second).await;
    assert_eq!(broker.stats().await.unwrap().lanes[1].depth, 0);
}

pub(crate) async fn a_heartbeat_keeps_the_lease<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::Normal, "k", "x")).await.unwrap();
    let leased = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    for _ in 0..5 {
        clock.advance(Duration::from_millis(1500));
        assert_eq!(
            broker.heartbeat(&[("k".into(), leased.attempts)]).await.unwrap(),
            1
        );
        assert!(
            broker.lease(1).await.unwrap().jobs.is_empty(),
            "renewed lease holds"
        );
    }
    assert_eq!(
        broker.heartbeat(&[("k".into(), 99)]).await.unwrap(),
        0,
        "a stranger's heartbeat renews nothing"
    );
    done(&broker, &leased).await;
}

pub(crate) async fn a_job_that_keeps_killing_its_consumer_dead_letters<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker
        .enqueue(job(Lane::Normal, "k", "poison").with_id("poison"))
        .await
        .unwrap();
    broker.enqueue(job(Lane::Normal, "k", "after")).await.unwrap();
    for attempt in 1..=3 {
        let leased = broker.lease(1).await.unwrap();
        assert_eq!(leased.jobs[0].attempts, attempt, "each expiry counts an attempt");
        clock.advance(Duration::from_secs(3));
    }
    let leased = broker.lease(1).await.unwrap();
    assert_eq!(leased.dead_lettered, 1);
    assert_eq!(
        leased.jobs.iter().map(payload).collect::<Vec<_>>(),
        ["after"],
        "the key moves on"
    );
    let letter = DeadLetters::new(broker).show("poison").await.unwrap().unwrap();
    assert_eq!((letter.class.as_str(), letter.attempts), ("lease_expired", 3));
}

pub(crate) async fn a_released_job_does_not_count_the_attempt<F: Factory>(f: &F) {
    let (broker, _) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::Normal, "k", "x")).await.unwrap();
    let leased = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    let ack = Ack {
        key: "k".into(),
        attempt: leased.attempts,
        settle: Settle::Release,
    };
    assert_eq!(broker.settle(vec![ack]).await.unwrap(), [true]);
    let again = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    assert_eq!(again.attempts, 1);
}

pub(crate) async fn the_dead_letter_api_lists_replays_and_purges<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    let dlq = DeadLetters::new(broker.clone());
    broker
        .enqueue(job(Lane::High, "a", "permanent").with_id("d1"))
        .await
        .unwrap();
    broker
        .enqueue(job(Lane::Normal, "b", "permanent").with_id("d2"))
        .await
        .unwrap();
    scripted(broker.clone()).run_pending().await.unwrap();
    clock.advance(Duration::from_secs(3600));
    broker
        .enqueue(job(Lane::Low, "c", "permanent").with_id("d3"))
        .await
        .unwrap();
    scripted(broker.clone()).run_pending().await.unwrap();

    let all = dlq.list(&DeadLetterFilter::default(), 0, 2).await.unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(
        all.items.iter().map(|l| l.id.as_str()).collect::<Vec<_>>()[0],
        "d3",
        "newest first"
    );
    assert_eq!(all.next_offset, Some(2));
    let rest = dlq.list(&DeadLetterFilter::default(), 2, 2).await.unwrap();
    assert_eq!((rest.items.len(), rest.next_offset), (1, None));
    let by_lane = DeadLetterFilter {
        lane: Some(Lane::Normal),
        ..Default::default()
    };
    assert_eq!(dlq.list(&by_lane, 0, 10).await.unwrap().items[0].id, "d2");
    let old = DeadLetterFilter {
        older_than: Some(Duration::from_secs(1800)),
        ..Default::default()
    };
    assert_eq!(dlq.list(&old, 0, 10).await.unwrap().total, 2);
    let text = DeadLetterFilter {
        text: Some("BAD INPUT".into()),
        class: Some("permanent".into()),
        ..Default::default()
    };
    assert_eq!(dlq.list(&text, 0, 10).await.unwrap().total, 3);
    let none = DeadLetterFilter {
        class: Some("panic".into()),
        ..Default::default()
    };
    assert_eq!(dlq.list(&none, 0, 10).await.unwrap().total, 0);

    let stats = dlq.stats().await.unwrap();
    assert_eq!(
        (stats.total, stats.by_class["permanent"], stats.by_lane["low"]),
        (3, 3, 1)
    );

    let replayed = dlq
        .replay(&Selection::Ids(vec!["d2".into()]), Some(Lane::High))
        .await
        .unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(
        (replayed[0].old_id.as_str(), replayed[0].lane),
        ("d2", Lane::High)
    );
    let job = broker
        .lease(10)
        .await
        .unwrap()
        .jobs
        .pop()
        .expect("replayed job queued");
    assert_eq!(
        (job.lane, job.key.as_str(), job.replayed_from.clone()),
        (Lane::High, "b", vec!["d2".to_owned()])
    );
    let ack = Ack {
        key: "b".into(),
        attempt: 1,
        settle: Settle::Dead {
            class: workers::ErrorClass::Permanent,
            error: "again".into(),
        },
    };
    broker.settle(vec![ack]).await.unwrap();
    let again = dlq
        .show(&replayed[0].new_id)
        .await
        .unwrap()
        .expect("dead again under its new id");
    assert_eq!(again.replayed_from, ["d2"], "the id history travels with it");

    assert_eq!(
        dlq.purge(&Selection::Matching(old.clone()), true).await.unwrap(),
        1,
        "dry run counts"
    );
    assert_eq!(dlq.stats().await.unwrap().total, 3, "dry run deletes nothing");
    assert_eq!(dlq.purge(&Selection::Matching(old), false).await.unwrap(), 1);
    assert_eq!(
        dlq.purge(&Selection::Ids(vec!["d3".into(), "nope".into()]), false)
            .await
            .unwrap(),
        1
    );
    assert_eq!(dlq.replay(&Selection::All, None).await.unwrap().len(), 1);
    assert_eq!(dlq.purge(&Selection::All, false).await.unwrap(), 0);
    assert_eq!(broker.stats().await.unwrap().dead, 0);
}

pub(crate) async fn stats_report_depth_in_flight_and_age<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::High, "a", "1")).await.unwrap();
    broker.enqueue(job(Lane::High, "a", "2")).await.unwrap();
    clock.advance(Duration::from_millis(700));
    broker.enqueue(job(Lane::Low, "b", "3")).await.unwrap();
    broker
        .enqueue(job(Lane::Low, "c", "4").with_delay(Duration::from_secs(60)))
        .await
        .unwrap();
    let s = broker.stats().await.unwrap();
    assert_eq!(
        (s.lanes[0].depth, s.lanes[0].ready_keys, s.lanes[0].oldest_age_ms),
        (2, 1, Some(700))
    );
    assert_eq!(
        (s.lanes[2].depth, s.lanes[2].ready_keys, s.lanes[2].oldest_age_ms),
        (2, 1, Some(0))
    );
    assert_eq!((s.in_flight, s.delayed_keys), (0, 1));
    let leased = broker.lease(10).await.unwrap().jobs;
    assert_eq!(broker.stats().await.unwrap().in_flight, leased.len() as u64);
}

pub(crate) async fn an_enqueue_wakes_a_waiting_consumer<F: Factory>(f: &F) {
    let broker = f.make(test_config(), Clock::System).await;
    let waiter = broker.clone();
    let waiting = tokio::spawn(async move { waiter.wait_for_work(Duration::from_secs(30)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    broker.enqueue(job(Lane::Normal, "k", "x")).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("woken by the enqueue, not by the 30 s timeout")
        .unwrap()
        .unwrap();
}

pub(crate) async fn the_runner_works_until_shutdown<F: Factory>(f: &F) {
    let broker = f.make(test_config(), Clock::System).await;
    let jobs = (0..40)
        .map(|i| job(Lane::ALL[i % 3], &format!("k{}", i % 7), &i.to_string()))
        .collect();
    broker.enqueue_many(jobs).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let runner = Runner::new(broker.clone(), move |job: Job| {
        let tx = tx.clone();
        async move {
            tx.send(job.id).unwrap();
            Outcome::Done
        }
    })
    .concurrency(4);
    let stop = tokio_util::sync::CancellationToken::new();
    let stopper = stop.clone();
    let running = tokio::spawn(runner.run(async move { stopper.cancelled().await }));
    for _ in 0..40 {
        tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("jobs run")
            .unwrap();
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
    let s = broker.stats().await.unwrap();
    assert_eq!(
        (s.lanes.iter().map(|l| l.depth).sum::<u64>(), s.in_flight),
        (0, 0),
        "all settled before run returned"
    );
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
}
