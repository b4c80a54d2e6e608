//! The metrics hooks: what a runner and a stats sample emit through the `metrics` facade.

use std::time::Duration;

use metrics_util::{
    CompositeKey, MetricKind,
    debugging::{DebugValue, DebuggingRecorder},
};
use workers::{Broker, Clock, Lane, MemoryBroker, NewJob, QueueConfig, metrics as names};

use crate::support::T0;

fn find<'a>(
    snapshot: &'a [(
        CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        DebugValue,
    )],
    kind: MetricKind,
    name: &str,
    lane: Option<&str>,
) -> Option<&'a DebugValue> {
    snapshot
        .iter()
        .find(|(key, ..)| {
            key.kind() == kind
                && key.key().name() == name
                && lane.is_none_or(|l| {
                    key.key()
                        .labels()
                        .any(|label| label.key() == "lane" && label.value() == l)
                })
        })
        .map(|(.., value)| value)
}

#[test]
fn runners_and_stats_samples_emit_the_catalogue() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let config = QueueConfig {
                max_attempts: 1,
                ..QueueConfig::default()
            };
            let clock = Clock::manual(T0);
            let broker = MemoryBroker::new(config, clock.clone());
            for (key, payload) in [("a", "ok"), ("b", "retry"), ("c", "permanent"), ("d", "ok")] {
                broker
                    .enqueue(NewJob::new("m", Lane::Normal, key, payload))
                    .await
                    .unwrap();
            }
            clock.advance(Duration::from_millis(250));
            let runner = workers::Runner::new(broker.clone(), |job: workers::Job| async move {
                match job.payload.as_slice() {
                    b"ok" => workers::Outcome::Done,
                    b"retry" => workers::Outcome::Retry("again".into()),
                    _ => workers::Outcome::Permanent("no".into()),
                }
            });
            runner.run_pending().await.unwrap();
            broker
                .enqueue(NewJob::new("m", Lane::High, "e", "waiting"))
                .await
                .unwrap();
            workers::metrics::record_queue_stats(&broker.stats().await.unwrap());
        });
    });
    let snap = snapshotter.snapshot().into_vec();
    let counter = |name, lane| match find(&snap, MetricKind::Counter, name, lane) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(counter(names::JOBS_DONE, Some("normal")), 2);
    assert_eq!(
        counter(names::JOBS_FAILED, Some("normal")),
        2,
        "the retry (exhausted) and the permanent failure"
    );
    assert_eq!(counter(names::JOBS_DEAD, Some("normal")), 2);
    let Some(DebugValue::Histogram(waits)) = find(
        &snap,
        MetricKind::Histogram,
        names::ENQUEUE_TO_START,
        Some("normal"),
    ) else {
        panic!("enqueue-to-start histogram missing");
    };
    assert_eq!(waits.len(), 4);
    assert!(
        waits.iter().all(|w| (w.into_inner() - 0.25).abs() < 1e-9),
        "250 ms on the manual clock: {waits:?}"
    );
    assert!(
        matches!(find(&snap, MetricKind::Histogram, names::JOB_DURATION, Some("normal")), Some(DebugValue::Histogram(d)) if d.len() == 4)
    );
    let gauge = |name, lane| match find(&snap, MetricKind::Gauge, name, lane) {
        Some(DebugValue::Gauge(v)) => v.into_inner(),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(gauge(names::QUEUE_DEPTH, Some("high")), 1.0);
    assert_eq!(gauge(names::QUEUE_DEPTH, Some("normal")), 0.0);
    assert_eq!(gauge(names::QUEUE_OLDEST_AGE, Some("high")), 0.0);
    assert_eq!(gauge(names::QUEUE_IN_FLIGHT, None), 0.0);
    assert_eq!(gauge(names::QUEUE_DEAD, None), 2.0);
}

#[test]
fn a_stale_ack_is_counted_as_ava_queue_stale_acks_total() {
    assert_eq!(names::ACKS_STALE, "ava_queue_stale_acks_total");
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let taken_over = metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let clock = Clock::manual(T0);
            let broker = MemoryBroker::new(QueueConfig::default(), clock.clone());
            broker
                .enqueue(NewJob::new("m", Lane::Normal, "k", "x"))
                .await
                .unwrap();
            let (other, clock2) = (broker.clone(), clock.clone());
            // The handler stalls past its lease; meanwhile another consumer takes the job over.
            let runner = workers::Runner::new(broker.clone(), move |_job: workers::Job| {
                let (other, clock) = (other.clone(), clock2.clone());
                async move {
                    clock.advance(QueueConfig::default().lease_duration);
                    assert_eq!(other.lease(1).await.unwrap().jobs.len(), 1, "taken over");
                    workers::Outcome::Done
                }
            });
            runner.try_execute().await.unwrap().expect("ran");
            broker.stats().await.unwrap().in_flight
        })
    });
    assert_eq!(
        taken_over, 1,
        "the late Done did not settle the other consumer's lease"
    );
    let snap = snapshotter.snapshot().into_vec();
    assert!(
        matches!(
            find(&snap, MetricKind::Counter, names::ACKS_STALE, None),
            Some(DebugValue::Counter(1))
        ),
        "one stale ack counted"
    );
}
