//! Per-key order, one job per key at a time, lane weights, deduplication.

use std::collections::HashMap;

use workers::{Broker, Enqueued, Lane};

use super::{done, job, manual, payload};
use crate::support::{Factory, test_config};

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
