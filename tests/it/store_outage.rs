//! Postgres goes away for 1,000 updates: the bot keeps replying, log rows spool to Redis, and once
//! Postgres is back every row lands exactly once, in order.

use std::time::{Duration, Instant};

use ava::worker::Step;
use figment::providers::Serialized;
use workers::Outcome;

use crate::{
    harness::{SECRET, TestApp, database_url},
    pg_proxy::{PgProxy, upstream},
};

const UPDATES: i64 = 1_000;
const FIRST_UPDATE_ID: i64 = 700_000_000;

fn update(i: i64) -> Vec<u8> {
    let chat = 9_000 + i % 50;
    serde_json::json!({
        "update_id": FIRST_UPDATE_ID + i,
        "message": {
            "message_id": i, "date": 1763856000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": false, "first_name": "T", "username": format!("u{chat}")},
            "text": if i % 3 == 0 { "/start".to_owned() } else { format!("hello {i}") }
        }
    })
    .to_string()
    .into_bytes()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&app.db).await.unwrap();
    n
}

#[tokio::test]
async fn a_postgres_outage_delays_log_rows_but_loses_none_and_never_stops_replies() {
    let proxy = PgProxy::start(upstream(&database_url())).await;
    let proxied = proxy.url(&database_url());
    let app = TestApp::spawn_with(|fig| fig.merge(Serialized::default("database.url", proxied))).await;

    proxy.cut();
    let mut slowest = Duration::ZERO;
    for i in 0..UPDATES {
        assert_eq!(
            app.post_update(update(i), Some(SECRET)).await,
            200,
            "update {i} acknowledged"
        );
        let started = Instant::now();
        assert_eq!(
            app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
            Step::Ran(Outcome::Done),
            "update {i} answered while Postgres is down"
        );
        slowest = slowest.max(started.elapsed());
    }
    let sends = app
        .telegram
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().ends_with("/sendMessage"))
        .count();
    assert_eq!(
        sends, UPDATES as usize,
        "every update got its reply during the outage"
    );
    println!("slowest update while Postgres was down: {slowest:?}");
    // The writer needs about a second (its acquire timeout) to call Postgres unreachable; a reply
    // that waited on a log write would take at least that, three times over.
    assert!(
        slowest < Duration::from_secs(3),
        "a reply waited on Postgres: {slowest:?}"
    );

    let during = app.worker.log().flush().await;
    assert!(!during.postgres_up, "{during:?}");
    assert_eq!(
        during.held, 0,
        "every row is in the spool, none only in memory: {during:?}"
    );
    // Per update: one message_log row, one outbound_log row, one users sighting, one job attempt.
    assert_eq!(during.spooled, 4 * UPDATES as u64, "{during:?}");
    assert_eq!(
        count(&app, "SELECT count(*) FROM message_log").await,
        0,
        "nothing reached Postgres"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(60);
    let after = loop {
        let report = app.worker.log().flush().await;
        if report.spooled == 0 && report.held == 0 {
            break report;
        }
        assert!(Instant::now() < deadline, "spool did not drain: {report:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(after.postgres_up);

    assert_eq!(count(&app, "SELECT count(*) FROM message_log").await, UPDATES);
    assert_eq!(
        count(&app, "SELECT count(DISTINCT update_id) FROM message_log").await,
        UPDATES
    );
    assert_eq!(count(&app, "SELECT count(*) FROM outbound_log").await, UPDATES);
    assert_eq!(
        count(&app, "SELECT count(DISTINCT update_id) FROM outbound_log").await,
        UPDATES
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM message_log m JOIN outbound_log o USING (update_id) WHERE o.status = 'sent' AND m.outcome = 'done'").await,
        UPDATES,
        "each update's in and out rows match"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM users").await, 50);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM job_attempts WHERE outcome = 'done' AND attempt = 1"
        )
        .await,
        UPDATES,
        "each job's attempt is recorded once"
    );
    // In order: rows were spooled as recorded, so the replies' serial ids follow update order.
    let out_of_order = count(
        &app,
        "SELECT count(*) FROM (SELECT update_id, lag(update_id) OVER (ORDER BY id) AS before FROM outbound_log) o
         WHERE update_id < before",
    )
    .await;
    assert_eq!(out_of_order, 0, "the spool flushed in order");

    drop(proxy);
    app.cleanup().await;
}
