//! Postgres unreachable while users ask for what lives there: each gets "I can't reach my records
//! right now" at once, the job ends done, nothing is retried into the dead-letter queue. And an
//! alert added twice by the same request (a retried job) is one alert.

use ava::{conversation::Direction, jobs, store::alerts};
use figment::providers::Serialized;
use workers::{Broker, Lane, NewJob};

use crate::{
    chat::{CHAT, drain, last_sent_contains, message, mount_bot_methods, say, sent},
    harness::{TestApp, database_url},
    pg_proxy::{PgProxy, upstream},
};

const RECORDS_DOWN: &str = "⚠️ I can't reach my records right now. Try again in a minute.";

#[tokio::test]
async fn with_postgres_down_reads_answer_the_user_instead_of_dead_lettering() {
    let proxy = PgProxy::start(upstream(&database_url())).await;
    let proxied = proxy.url(&database_url());
    let app = TestApp::spawn_with(|fig| {
        fig.merge(Serialized::default("database.url", proxied))
            .merge(Serialized::default("queue.backoff_base_ms", 10))
            .merge(Serialized::default("queue.backoff_cap_ms", 20))
    })
    .await;
    mount_bot_methods(&app).await;
    say(&app, &app.worker, message(810_001, "/alert AAPL > 900")).await;
    last_sent_contains(&app, "Alert #1 set").await;

    proxy.cut();
    // `say` steps the worker until the queue is empty and fails unless every job ended done: a
    // job retrying towards the dead-letter queue fails the test here.
    for (update_id, text) in [
        (810_002, "/alerts"),
        (810_003, "/alert AAPL > 950"),
        (810_004, "/history AAPL 30"),
    ] {
        let before = sent(&app).await.len();
        say(&app, &app.worker, message(update_id, text)).await;
        let texts = sent(&app).await;
        assert_eq!(texts.len(), before + 1, "one answer to {text}: {texts:#?}");
        assert_eq!(texts.last().unwrap(), RECORDS_DOWN, "the answer to {text}");
    }
    // The periodic jobs that read Postgres skip their tick instead of retrying it into the
    // dead-letter queue; the next tick tries again.
    let broker = app.broker();
    for kind in [jobs::ALERT_MONITOR, jobs::DATA_COLLECTOR, jobs::RETENTION] {
        let tick = serde_json::to_vec(&jobs::Tick {
            at_ms: workers::system_now_ms(),
        })
        .unwrap();
        broker
            .enqueue(NewJob::new(kind, Lane::Low, format!("scheduler:{kind}"), tick))
            .await
            .unwrap();
        drain(&app.worker).await;
    }
    let stats = broker.stats().await.unwrap();
    assert_eq!(stats.dead, 0, "nothing dead-lettered");

    proxy.restore();
    say(&app, &app.worker, message(810_005, "/alerts")).await;
    let list = last_sent_contains(&app, "#1 AAPL > 900.00").await;
    assert!(
        !list.contains("950"),
        "the alert asked for during the outage was not added: {list}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn adding_an_alert_twice_for_the_same_request_adds_it_once() {
    let app = TestApp::spawn().await;
    let key = format!("{CHAT}:u820001");
    let first = alerts::insert(&app.db, CHAT, &key, "AAPL", Direction::Above, 200.0)
        .await
        .unwrap()
        .expect("added");
    let retried = alerts::insert(&app.db, CHAT, &key, "AAPL", Direction::Above, 200.0)
        .await
        .unwrap()
        .expect("the same alert");
    assert_eq!(first, retried);
    let other = alerts::insert(
        &app.db,
        CHAT,
        &format!("{CHAT}:u820002"),
        "AAPL",
        Direction::Above,
        200.0,
    )
    .await
    .unwrap()
    .expect("a second request adds a second alert");
    assert_ne!(other.id, first.id);
    let listed = alerts::list(&app.db, CHAT).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");

    // Two attempts at once (a stalled worker and its successor) still add one.
    let key = format!("{CHAT}:u820003");
    let (a, b) = tokio::join!(
        alerts::insert(&app.db, CHAT, &key, "MSFT", Direction::Below, 300.0),
        alerts::insert(&app.db, CHAT, &key, "MSFT", Direction::Below, 300.0),
    );
    assert_eq!(a.unwrap().expect("added"), b.unwrap().expect("added"));
    assert_eq!(alerts::list(&app.db, CHAT).await.unwrap().len(), 3);
    app.cleanup().await;
}

#[tokio::test]
async fn a_statement_running_past_the_timeout_is_cancelled_and_counts_as_unavailable() {
    let app =
        TestApp::spawn_with(|fig| fig.merge(Serialized::default("database.statement_timeout_ms", 200))).await;
    let store = ava::store::Store::connect_lazy(&app.settings.database, 0).unwrap();
    // A hung Postgres, as far as this session can tell: the statement would take 30 s.
    let err = sqlx::query("SELECT pg_sleep(30)")
        .execute(store.pool())
        .await
        .expect_err("cancelled by statement_timeout");
    let code = err
        .as_database_error()
        .and_then(|db| db.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("57014"), "{err}");
    assert_eq!(
        ava::store::batch::classify(&err),
        ava::store::batch::Failure::Unavailable,
        "the log writer spools instead of rejecting rows"
    );
    // Set on every session of the pool (the log writer's pool is built by the same function).
    let (timeout,): (String,) = sqlx::query_as("SHOW statement_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(timeout, "200ms");
    app.cleanup().await;
}
