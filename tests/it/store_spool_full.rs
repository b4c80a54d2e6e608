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
