//! Fenced leases and one clock: a consumer that stalled past its lease can neither settle nor
//! renew what is no longer its own, and hosts whose clocks are off steal nothing.

use std::time::Duration;

use workers::{Ack, Broker, Clock, DeadLetters, ErrorClass, Job, Lane, Outcome, Runner, Settle};

use super::{done, job, manual, payload};
use crate::support::{Factory, test_config};

fn ack(job: &Job, settle: Settle) -> Ack {
    Ack {
        key: job.key.clone(),
        token: job.token,
        settle,
    }
}

fn dead(error: &str) -> Settle {
    Settle::Dead {
        class: ErrorClass::Permanent,
        error: error.into(),
    }
}

/// The stall: A leases chat 7's job 1 and stalls past its lease; B takes job 1 over
/// (attempt 2), finishes it and starts job 2. A's late ack (same key, same attempt number as
/// job 2's) must not pop B's job; neither while B runs job 1 nor after it moved on.
pub(crate) async fn a_late_ack_of_a_stalled_worker_cannot_settle_the_chats_next_job<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    for n in 1..=3 {
        broker
            .enqueue(job(Lane::Normal, "chat-7", &format!("job{n}")))
            .await
            .unwrap();
    }
    let a = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    assert_eq!((payload(&a), a.attempts), ("job1".into(), 1));
    clock.advance(Duration::from_secs(3));
    let b1 = broker
        .lease(1)
        .await
        .unwrap()
        .jobs
        .pop()
        .expect("B takes job 1 over");
    assert_eq!((payload(&b1), b1.attempts), ("job1".into(), 2));
    assert_eq!(
        broker.settle(vec![ack(&a, Settle::Done)]).await.unwrap(),
        [false],
        "A's late ack while B runs job 1 is refused"
    );
    done(&broker, &b1).await;
    let b2 = broker.lease(1).await.unwrap().jobs.pop().expect("job 2 is next");
    assert_eq!((payload(&b2), b2.attempts), ("job2".into(), 1));
    assert_eq!(
        b2.attempts, a.attempts,
        "same key and attempt number: only the token tells"
    );
    for late in [Settle::Done, dead("late"), Settle::Release] {
        assert_eq!(
            broker.settle(vec![ack(&a, late.clone())]).await.unwrap(),
            [false],
            "A's late {late:?} is refused"
        );
    }
    let stats = broker.stats().await.unwrap();
    assert_eq!(
        (stats.in_flight, stats.lanes[1].depth, stats.dead),
        (1, 2, 0),
        "job 2 is still B's, at the head; nothing dead-lettered"
    );
    assert!(
        broker.lease(5).await.unwrap().jobs.is_empty(),
        "job 3 waits behind job 2"
    );
    done(&broker, &b2).await;
    let b3 = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    assert_eq!(payload(&b3), "job3");
}

pub(crate) async fn two_acks_of_one_lease_in_a_batch_apply_once<F: Factory>(f: &F) {
    let (broker, _) = manual(f, test_config()).await;
    for n in 1..=3 {
        broker
            .enqueue(job(Lane::Normal, "k", &format!("j{n}")))
            .await
            .unwrap();
    }
    let j1 = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    let applied = broker
        .settle(vec![ack(&j1, Settle::Done), ack(&j1, Settle::Done)])
        .await
        .unwrap();
    assert_eq!(applied, [true, false]);
    let next = broker.lease(5).await.unwrap().jobs;
    assert_eq!(
        next.iter().map(payload).collect::<Vec<_>>(),
        ["j2"],
        "one job popped, not two"
    );
    assert_eq!(broker.stats().await.unwrap().lanes[1].depth, 2);
    let applied = broker
        .settle(vec![ack(&next[0], dead("x")), ack(&next[0], Settle::Done)])
        .await
        .unwrap();
    assert_eq!(applied, [true, false], "the first of two different acks wins");
    assert_eq!(broker.stats().await.unwrap().dead, 1);
    assert_eq!(payload(&broker.lease(1).await.unwrap().jobs[0]), "j3");
}

pub(crate) async fn a_stale_heartbeat_is_refused_and_extends_nothing<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::Normal, "k", "x")).await.unwrap();
    let a = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    clock.advance(Duration::from_secs(3));
    let b = broker.lease(1).await.unwrap().jobs.pop().expect("taken over");
    clock.advance(Duration::from_millis(1500));
    assert_eq!(
        broker
            .heartbeat(&[("k".into(), a.token), ("k".into(), b.token)])
            .await
            .unwrap(),
        [false, true],
        "only the current holder renews"
    );
    clock.advance(Duration::from_millis(1999));
    assert!(
        broker.lease(1).await.unwrap().jobs.is_empty(),
        "B's renewal holds"
    );
    assert_eq!(broker.heartbeat(&[("k".into(), a.token)]).await.unwrap(), [false]);
    clock.advance(Duration::from_millis(1));
    let c = broker.lease(1).await.unwrap().jobs.pop();
    assert_eq!(
        c.map(|c| c.attempts),
        Some(3),
        "A's stale heartbeat did not extend B's lease"
    );
}

/// A runner learns from its heartbeat that its lease was taken over: it stops the handler and
/// settles nothing, so the new holder's lease stays intact.
pub(crate) async fn a_runner_that_lost_its_lease_stops_the_handler_and_settles_nothing<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::Normal, "k", "hangs")).await.unwrap();
    broker.enqueue(job(Lane::Normal, "k", "next")).await.unwrap();
    let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
    let (dropped_tx, dropped) = tokio::sync::oneshot::channel::<()>();
    let hooks = std::sync::Mutex::new(Some((started_tx, dropped_tx)));
    struct OnDrop(Option<tokio::sync::oneshot::Sender<()>>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            let _ = self.0.take().map(|tx| tx.send(()));
        }
    }
    let runner = Runner::new(broker.clone(), move |_job: Job| {
        let hooks = hooks.lock().unwrap().take();
        async move {
            let Some((started, dropped)) = hooks else {
                return Outcome::Done;
            };
            let _guard = OnDrop(Some(dropped));
            let _ = started.send(());
            futures::future::pending::<()>().await;
            Outcome::Done
        }
    });
    let stop = tokio_util::sync::CancellationToken::new();
    let stopper = stop.clone();
    let running = tokio::spawn(runner.run(async move { stopper.cancelled().await }));
    tokio::time::timeout(Duration::from_secs(20), started)
        .await
        .expect("job starts")
        .unwrap();
    clock.advance(Duration::from_secs(3));
    let other = broker.lease(1).await.unwrap().jobs.pop().expect("taken over");
    assert_eq!(other.attempts, 2);
    tokio::time::timeout(Duration::from_secs(20), dropped)
        .await
        .expect("the handler is stopped once a heartbeat is refused")
        .unwrap();
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("stops")
        .unwrap()
        .unwrap();
    assert_eq!(
        broker.heartbeat(&[("k".into(), other.token)]).await.unwrap(),
        [true],
        "the new holder still holds its lease"
    );
    let stats = broker.stats().await.unwrap();
    assert_eq!((stats.in_flight, stats.lanes[1].depth), (1, 2));
    done(&broker, &other).await;
    assert_eq!(payload(&broker.lease(1).await.unwrap().jobs[0]), "next");
}

/// Three hosts on one queue: one whose clock is right, one 10 minutes ahead, one 10 minutes
/// behind. Leases and due times follow the backend's clock, so none of them steals, loses or
/// delays anything. (The memory backend lives in one process with one clock.)
pub(crate) async fn skewed_host_clocks_neither_steal_leases_nor_delay_jobs<F: Factory>(f: &F) {
    let right = f.make(test_config(), Clock::System).await;
    let ahead = f.peer(&right, Clock::Skewed(10 * 60 * 1000));
    let behind = f.peer(&right, Clock::Skewed(-10 * 60 * 1000));

    right.enqueue(job(Lane::Normal, "a", "a1")).await.unwrap();
    let mine = right.lease(1).await.unwrap().jobs.pop().unwrap();
    assert!(
        ahead.lease(10).await.unwrap().jobs.is_empty(),
        "a host 10 min ahead does not see a live lease as expired"
    );

    ahead.enqueue(job(Lane::Normal, "b", "b1")).await.unwrap();
    let got = right.lease(10).await.unwrap().jobs;
    assert_eq!(
        got.iter().map(payload).collect::<Vec<_>>(),
        ["b1"],
        "a job queued by a host 10 min ahead is due now, not in 10 min"
    );

    behind.enqueue(job(Lane::Normal, "c", "c1")).await.unwrap();
    let theirs = behind.lease(1).await.unwrap().jobs.pop().expect("c1");
    assert_eq!(
        behind.heartbeat(&[("c".into(), theirs.token)]).await.unwrap(),
        [true]
    );
    assert!(
        right.lease(10).await.unwrap().jobs.is_empty(),
        "a lease taken and renewed by a host 10 min behind is not expired"
    );
    let leased = ahead.lease(10).await.unwrap();
    assert!(leased.jobs.is_empty(), "nor for a host 10 min ahead");
    let stats = right.stats().await.unwrap();
    assert_eq!(stats.in_flight, 3);
    assert_eq!(stats.lanes[1].oldest_age_ms, None);
    for (broker, job) in [(&behind, &theirs), (&right, &mine), (&right, &got[0])] {
        done(broker, job).await;
    }
}

pub(crate) async fn retry_after_uses_no_attempts_and_is_bounded_in_time<F: Factory>(f: &F) {
    let config = workers::QueueConfig {
        max_attempts: 2,
        max_defer: Duration::from_secs(60),
        ..test_config()
    };
    let (broker, clock) = manual(f, config).await;
    broker
        .enqueue(job(Lane::Normal, "k", "retry-after").with_id("waits"))
        .await
        .unwrap();
    broker.enqueue(job(Lane::Normal, "k", "then")).await.unwrap();
    let runner = super::scripted(broker.clone());
    // 10 deferrals of 5 s: far more than max_attempts, all within the 60 s bound.
    for _ in 0..10 {
        let ran = runner.try_execute().await.unwrap().expect("due");
        assert_eq!(ran.job.attempts, 1, "waiting is not failing");
        assert!(
            matches!(ran.settle, Settle::DeferUntil { .. }),
            "{:?}",
            ran.settle
        );
        clock.advance(Duration::from_secs(5));
    }
    assert_eq!(broker.stats().await.unwrap().dead, 0);
    // Past 60 s from the first attempt, the next deferral would overshoot: dead-lettered.
    clock.advance(Duration::from_secs(6));
    let ran = runner.try_execute().await.unwrap().expect("due");
    assert!(
        matches!(
            &ran.settle,
            Settle::Dead {
                class: ErrorClass::DeferredTooLong,
                ..
            }
        ),
        "{:?}",
        ran.settle
    );
    let letter = DeadLetters::new(broker.clone())
        .show("waits")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.class, "deferred_too_long");
    let next = runner.try_execute().await.unwrap().expect("the key moves on");
    assert_eq!(payload(&next.job), "then");
}

pub(crate) async fn a_hung_handler_is_cancelled_at_its_deadline_as_a_retry<F: Factory>(f: &F) {
    let (broker, clock) = manual(f, test_config()).await;
    broker.enqueue(job(Lane::Normal, "k", "hangs")).await.unwrap();
    let runner = Runner::new(broker.clone(), |job: Job| async move {
        if job.attempts == 1 {
            futures::future::pending::<()>().await;
        }
        Outcome::Done
    })
    .job_timeout("test", Duration::from_millis(50));
    assert_eq!(runner.timeout_of("test"), Duration::from_millis(50));
    assert_eq!(
        runner.timeout_of("other"),
        Duration::from_secs(60),
        "other kinds keep the queue's job_timeout"
    );
    let ran = tokio::time::timeout(Duration::from_secs(20), runner.try_execute())
        .await
        .expect("the deadline ends the attempt")
        .unwrap()
        .expect("ran");
    assert!(
        matches!(&ran.outcome, Outcome::Retry(e) if e.starts_with("deadline")),
        "{:?}",
        ran.outcome
    );
    assert!(matches!(ran.settle, Settle::RetryAt { .. }), "{:?}", ran.settle);
    clock.advance(Duration::from_secs(10));
    let again = runner.try_execute().await.unwrap().expect("retried");
    assert_eq!((again.job.attempts, again.outcome), (2, Outcome::Done));
}

pub(crate) async fn dead_letters_expire_after_their_ttl<F: Factory>(f: &F) {
    let config = workers::QueueConfig {
        dead_letter_ttl: Duration::from_secs(3 * 24 * 3600),
        ..test_config()
    };
    let (broker, clock) = manual(f, config).await;
    broker
        .enqueue(job(Lane::Normal, "k", "permanent").with_id("gone"))
        .await
        .unwrap();
    super::scripted(broker.clone()).run_pending().await.unwrap();
    if let Some(pttl) = f.dead_letter_pttl("gone").await {
        let ttl = 3 * 24 * 3600 * 1000;
        assert!(
            pttl > ttl - 60_000 && pttl <= ttl,
            "Redis expires the dead letter after dead_letter_ttl (PTTL {pttl})"
        );
    }
    let dlq = DeadLetters::new(broker.clone());
    clock.advance(Duration::from_secs(3 * 24 * 3600 - 1));
    assert_eq!(broker.stats().await.unwrap().dead, 1, "kept until its TTL");
    clock.advance(Duration::from_secs(1));
    assert_eq!(broker.stats().await.unwrap().dead, 0, "forgotten after it");
    assert!(broker.dead_letter_index().await.unwrap().is_empty());
    assert!(
        dlq.list(&Default::default(), 0, 10).await.unwrap().total == 0,
        "not listed"
    );
}
