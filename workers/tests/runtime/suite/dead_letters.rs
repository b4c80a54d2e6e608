//! The dead-letter API and queue stats.

use std::time::Duration;

use workers::{Ack, Broker, DeadLetterFilter, DeadLetters, Lane, Purged, Selection, Settle};

use super::{job, manual, scripted};
use crate::support::{Factory, test_config};

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
        token: job.token,
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
        dlq.purge_listed(&Selection::Ids(vec!["d3".into(), "nope".into()]), false)
            .await
            .unwrap(),
        Purged {
            ids: vec!["d3".into()],
            removed: 1
        },
        "a purge names what it removed, unknown ids left out"
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
