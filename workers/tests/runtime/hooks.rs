//! The attempt hook: told of every attempt, in stepping and in `run`, with timings and the
//! settle decision; a panicking hook does not keep a job from being acknowledged.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::FutureExt;
use workers::{Broker, Clock, Executed, Job, Lane, MemoryBroker, NewJob, Outcome, Runner, Settle};

use crate::support::{T0, test_config};

/// What the hook saw of one attempt.
type Seen = (String, u32, bool, Settle, u64, u64);
/// What the hooks saw, in call order.
type SeenLog = Arc<Mutex<Vec<Seen>>>;

fn recorder() -> (
    SeenLog,
    impl Fn(&Executed) -> futures::future::BoxFuture<'static, ()> + Send + Sync + 'static,
) {
    let seen: SeenLog = Arc::default();
    let sink = seen.clone();
    let hook = move |e: &Executed| {
        let row = (
            e.job.id.clone(),
            e.job.attempts,
            e.panicked,
            e.settle.clone(),
            e.started_at_ms,
            e.finished_at_ms,
        );
        let sink = sink.clone();
        async move { sink.lock().unwrap().push(row) }.boxed()
    };
    (seen, hook)
}

fn scripted_outcome(job: &Job) -> Outcome {
    match job.payload.as_slice() {
        b"retry" => Outcome::Retry("flaky".into()),
        b"permanent" => Outcome::Permanent("bad".into()),
        b"panic" => panic!("boom"),
        _ => Outcome::Done,
    }
}

#[tokio::test]
async fn the_hook_sees_every_attempt_with_its_settle_and_times() {
    let clock = Clock::manual(T0);
    let broker = MemoryBroker::new(test_config(), clock.clone());
    for (id, payload) in [("r", "retry"), ("p", "permanent"), ("x", "panic"), ("d", "done")] {
        broker
            .enqueue(NewJob::new("test", Lane::Normal, id, payload.as_bytes().to_vec()).with_id(id))
            .await
            .unwrap();
    }
    let (seen, hook) = recorder();
    let runner = Runner::new(broker.clone(), |job: Job| {
        let outcome = scripted_outcome(&job);
        futures::future::ready(outcome)
    })
    .on_attempt(hook);
    // max_attempts is 3: "r" and "x" run three times, then die.
    for _ in 0..3 {
        runner.run_pending().await.unwrap();
        clock.advance(Duration::from_secs(10));
    }
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let summary: Vec<(&str, u32, bool, &str)> = seen
        .iter()
        .map(|(id, attempt, panicked, settle, _, _)| {
            let settle = match settle {
                Settle::Done => "done",
                Settle::RetryAt { .. } => "retry",
                Settle::DeferUntil { .. } => "defer",
                Settle::Dead { .. } => "dead",
                Settle::Release => "release",
            };
            (id.as_str(), *attempt, *panicked, settle)
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("d", 1, false, "done"),
            ("p", 1, false, "dead"),
            ("r", 1, false, "retry"),
            ("r", 2, false, "retry"),
            ("r", 3, false, "dead"),
            ("x", 1, true, "retry"),
            ("x", 2, true, "retry"),
            ("x", 3, true, "dead"),
        ]
    );
    for (id, attempt, _, _, started, finished) in &seen {
        let expected = T0 + 10_000 * u64::from(attempt - 1);
        assert_eq!(
            (*started, *finished),
            (expected, expected),
            "{id} #{attempt}: the manual clock's time"
        );
    }
}

#[tokio::test]
async fn the_hook_runs_under_run_and_a_panicking_hook_still_acks() {
    let broker = MemoryBroker::new(test_config(), Clock::System);
    let jobs = (0..20)
        .map(|i| NewJob::new("test", Lane::Normal, format!("k{}", i % 5), b"done".to_vec()))
        .collect();
    broker.enqueue_many(jobs).await.unwrap();
    let (seen, record) = recorder();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let runner = Runner::new(broker.clone(), |job: Job| {
        futures::future::ready(scripted_outcome(&job))
    })
    .concurrency(4)
    .on_attempt(move |e: &Executed| {
        // Every other call panics, half before and half after returning its future.
        match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 4 {
            1 => panic!("hook blew up"),
            3 => async { panic!("hook future blew up") }.boxed(),
            _ => record(e),
        }
    });
    let stop = tokio_util::sync::CancellationToken::new();
    let stopper = stop.clone();
    let running = tokio::spawn(runner.run(async move { stopper.cancelled().await }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while broker.stats().await.unwrap().lanes[1].depth > 0 {
        assert!(tokio::time::Instant::now() < deadline, "every job settles");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    running.await.unwrap().unwrap();
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        20,
        "one call per attempt"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        10,
        "the calls that did not panic recorded"
    );
    assert_eq!(broker.stats().await.unwrap().in_flight, 0);
}
