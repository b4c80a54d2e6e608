//! At the spool's bound nothing is dropped: the writer holds rows and callers wait
//! (back-pressure) until Postgres is back; then every row lands exactly once.

use std::time::{Duration, Instant};

use ava::store::{RateLimitViolation, new_log_key};
use chrono::Utc;
use figment::providers::Serialized;

use crate::{
    harness::{TestApp, database_url},
    pg_proxy::{PgProxy, upstream},
};

fn violation(n: i64) -> RateLimitViolation {
    RateLimitViolation {
        log_key: new_log_key(),
        at: Utc::now(),
        scope: "chat".into(),
        chat_id: Some(n),
        method: None,
        retry_after_ms: None,
        detail: None,
    }
}

#[tokio::test]
async fn a_full_spool_holds_rows_and_pushes_back_instead_of_dropping() {
    let proxy = PgProxy::start(upstream(&database_url())).await;
    let proxied = proxy.url(&database_url());
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("database.url", proxied))
            .merge(Serialized::default("store.batch_rows", 10))
            .merge(Serialized::default("store.queue_rows", 10))
            .merge(Serialized::default("store.spool_max_rows", 20))
    })
    .await;
    let log = app.worker.log().clone();

    proxy.cut();
    for n in 0..20 {
        log.record(violation(n)).await;
    }
    let report = log.flush().await;
    assert_eq!(
        (report.spooled, report.held, report.spool_full),
        (20, 0, false),
        "{report:?}"
    );

    for n in 20..30 {
        log.record(violation(n)).await;
    }
    let report = log.flush().await;
    assert_eq!(
        (report.spooled, report.held, report.spool_full),
        (20, 10, true),
        "{report:?}"
    );

    // The writer's batch is full; the queue takes 10 more, and the next caller waits.
    for n in 30..40 {
        log.record(violation(n)).await;
    }
    let waiting = tokio::spawn({
        let log = log.clone();
        async move { log.record(violation(40)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "at the bound, record waits instead of dropping the row"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let report = log.flush().await;
        if waiting.is_finished() && report.spooled == 0 && report.held == 0 {
            assert!(!report.spool_full && report.postgres_up, "{report:?}");
            break;
        }
        assert!(Instant::now() < deadline, "did not recover: {report:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    waiting.await.unwrap();
    log.flush().await;

    let (rows, chats): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT chat_id) FROM rate_limit_violations")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((rows, chats), (41, 41), "every row, once");

    drop(proxy);
    app.cleanup().await;
}

#[tokio::test]
async fn only_the_drainer_holding_the_lock_trims_the_spool() {
    let app = TestApp::spawn().await;
    let url = crate::harness::redis_url();
    let prefix = &app.settings.redis.prefix;
    let conn = || async { workers::RedisConn::connect_url(&url).await.unwrap() };
    let first = ava::store::Spool::new(conn().await, prefix, 100);
    let second = ava::store::Spool::new(conn().await, prefix, 100);
    let rows: Vec<ava::store::LogRow> = (0..3).map(|n| violation(n).into()).collect();
    assert_eq!(first.append(&rows).await.unwrap(), 3);

    assert!(first.lock("drainer-a").await.unwrap());
    assert!(!second.lock("drainer-b").await.unwrap(), "one drainer at a time");
    assert_eq!(second.peek(2).await.unwrap().len(), 2);
    assert!(
        !second.trim("drainer-b", 2).await.unwrap(),
        "a drainer without the lock trims nothing"
    );
    assert_eq!(first.spooled_rows().await.unwrap(), 3);
    assert!(first.trim("drainer-a", 2).await.unwrap());
    assert_eq!(first.spooled_rows().await.unwrap(), 1);
    first.unlock("drainer-a").await.unwrap();
    assert!(
        second.lock("drainer-b").await.unwrap(),
        "released for the next drainer"
    );

    let full = second.append(&vec![rows[0].clone(); 100]).await;
    assert!(
        matches!(full, Err(ava::store::SpoolError::Full { len: 1, bound: 100 })),
        "all or nothing at the bound: {full:?}"
    );
    assert_eq!(second.spooled_rows().await.unwrap(), 1);

    app.cleanup().await;
}
