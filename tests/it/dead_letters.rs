//! `ava dlq` over the app's queue: a job that fails for good is listed, shown, counted by a
//! dry-run purge, replayed and purged.

use std::time::Duration;

use ava::{
    ops::dlq::{self, DlqCommand, FilterArgs, SelectionArgs},
    worker::Step,
};
use workers::{Broker, Enqueued, Lane, NewJob, Outcome};

use crate::harness::TestApp;

#[tokio::test]
async fn a_permanent_failure_is_listed_replayed_and_purged() {
    let app = TestApp::spawn().await;
    let s = &app.settings;
    let broker = app.broker();
    let queued = broker
        .enqueue(NewJob::new("no_such_kind", Lane::Low, "chat-1", b"{}".to_vec()).with_id("job-1"))
        .await
        .unwrap();
    assert_eq!(queued, Enqueued::Queued("job-1".into()));
    let step = app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(step, Step::Ran(Outcome::Permanent(_))), "{step:?}");

    let list = dlq::run(
        s,
        DlqCommand::List {
            filter: FilterArgs::default(),
            offset: 0,
            limit: 10,
        },
    )
    .await
    .unwrap();
    assert!(list.starts_with("1 dead letter(s) match"), "{list}");
    assert!(
        list.contains("job-1") && list.contains("class=permanent"),
        "{list}"
    );

    let show = dlq::run(s, DlqCommand::Show { id: "job-1".into() })
        .await
        .unwrap();
    assert!(
        show.contains("unknown job kind") && show.contains("key:           chat-1"),
        "{show}"
    );

    let everything = SelectionArgs {
        all: true,
        ..Default::default()
    };
    let dry = dlq::run(
        s,
        DlqCommand::Purge {
            selection: everything.clone(),
            dry_run: true,
        },
    )
    .await
    .unwrap();
    assert!(dry.contains("would delete 1"), "{dry}");

    let by_id = SelectionArgs {
        ids: vec!["job-1".into()],
        ..Default::default()
    };
    let replay = dlq::run(
        s,
        DlqCommand::Replay {
            selection: by_id,
            to_lane: Some(Lane::High),
        },
    )
    .await
    .unwrap();
    assert!(
        replay.contains("replayed 1") && replay.contains("job-1 -> ") && replay.contains("(high)"),
        "{replay}"
    );
    let step = app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap();
    assert!(
        matches!(step, Step::Ran(Outcome::Permanent(_))),
        "the replayed job ran again: {step:?}"
    );

    let stats = dlq::run(s, DlqCommand::Stats).await.unwrap();
    assert!(
        stats.contains("dead letters: 1") && stats.contains("lane high: 1"),
        "{stats}"
    );
    let purged = dlq::run(
        s,
        DlqCommand::Purge {
            selection: everything,
            dry_run: false,
        },
    )
    .await
    .unwrap();
    assert!(purged.contains("deleted 1"), "{purged}");
    assert!(
        dlq::run(s, DlqCommand::Stats)
            .await
            .unwrap()
            .contains("dead letters: 0")
    );
    let refused = dlq::run(
        s,
        DlqCommand::Purge {
            selection: SelectionArgs::default(),
            dry_run: false,
        },
    )
    .await;
    assert!(refused.is_err(), "purge without a selection is refused");

    app.cleanup().await;
}
