//! Leases: expiry and reclaim, heartbeats, killer jobs, release; waking and running consumers.

use std::time::Duration;

use workers::{Ack, Broker, Clock, DeadLetters, Job, Lane, Outcome, Runner, Settle};

use super::{done, job, manual, payload};
use crate::support::{Factory, test_config};

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
    assert_ne!(second.token, first.token, "a new lease, a new token");
    let stale = broker
        .settle(vec![Ack {
            key: "k".into(),
            token: first.token,
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
            broker.heartbeat(&[("k".into(), leased.token)]).await.unwrap(),
            [true]
        );
        assert!(
            broker.lease(1).await.unwrap().jobs.is_empty(),
            "renewed lease holds"
        );
    }
    assert_eq!(
        broker
            .heartbeat(&[("k".into(), leased.token + 99)])
            .await
            .unwrap(),
        [false],
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
        token: leased.token,
        settle: Settle::Release,
    };
    assert_eq!(broker.settle(vec![ack]).await.unwrap(), [true]);
    let again = broker.lease(1).await.unwrap().jobs.pop().unwrap();
    assert_eq!(again.attempts, 1);
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

pub(crate) async fn shutdown_releases_jobs_still_running_after_the_grace<F: Factory>(f: &F) {
    let broker = f.make(test_config(), Clock::System).await;
    broker.enqueue(job(Lane::Normal, "k", "hangs")).await.unwrap();
    let (started, running_now) = tokio::sync::oneshot::channel::<()>();
    let started = std::sync::Mutex::new(Some(started));
    let runner = Runner::new(broker.clone(), move |_job: Job| {
        if let Some(started) = started.lock().unwrap().take() {
            let _ = started.send(());
        }
        futures::future::pending::<Outcome>()
    })
    .grace(Duration::from_millis(100));
    let stop = tokio_util::sync::CancellationToken::new();
    let stopper = stop.clone();
    let running = tokio::spawn(runner.run(async move { stopper.cancelled().await }));
    tokio::time::timeout(Duration::from_secs(20), running_now)
        .await
        .expect("job starts")
        .unwrap();
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("stops after the grace")
        .unwrap()
        .unwrap();
    let again = broker
        .lease(1)
        .await
        .unwrap()
        .jobs
        .pop()
        .expect("released back to its lane at once");
    assert_eq!(again.attempts, 1, "a released attempt does not count");
}
