//! The per-user inbound limit: a token bucket in Redis shared by every ingress replica; excess
//! updates are acknowledged and dropped, the user is told once per window, violations are logged.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use workers::Broker as _;

use ava::{
    ingress::{Accepted, InboundViolation, Source, Verdict, ViolationSink},
    worker::Step,
};
use figment::providers::Serialized;
use serde_json::Value;
use workers::{Lane, Outcome};

use crate::{
    edge_support::{drain_jobs, message},
    harness::{SECRET, TestApp},
};

#[derive(Default)]
struct CollectViolations(Mutex<Vec<InboundViolation>>);

impl ViolationSink for CollectViolations {
    fn record(&self, violation: InboundViolation) {
        self.0.lock().unwrap().push(violation);
    }
}

#[tokio::test]
async fn the_inbound_limit_holds_across_replicas_and_tells_the_user_once() {
    let app = TestApp::spawn_with(|fig| {
        // A slow refill, so the test's own pace cannot earn tokens back.
        fig.merge(Serialized::default("inbound_limit.refill_per_sec", 0.01))
    })
    .await;
    // A second ingress replica on the same Redis.
    let (replica_addr, stop, _replica) = crate::harness::spawn_ingress(&app.settings).await;

    let user = 5150;
    for id in 1..=14 {
        let status = if id % 2 == 0 {
            app.post_update(message(id, user, "spam"), Some(SECRET)).await
        } else {
            app.http
                .post(format!("http://{replica_addr}{}", app.settings.webhook.path))
                .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                .body(message(id, user, "spam"))
                .send()
                .await
                .unwrap()
                .status()
        };
        assert_eq!(status, 200, "update {id} is acknowledged");
    }
    // Another user is not affected.
    assert_eq!(app.post_update(message(100, 6000, "hi"), Some(SECRET)).await, 200);

    let jobs = drain_jobs(&app.settings).await;
    let updates: Vec<&str> = jobs
        .iter()
        .filter(|j| j.kind == ava::jobs::TELEGRAM_UPDATE)
        .map(|j| j.id.as_str())
        .collect();
    assert_eq!(
        updates.len(),
        11,
        "burst of 10 for user {user}, plus the other user: {updates:?}"
    );
    assert!(updates.contains(&"100"));
    let notices: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == ava::jobs::RATE_LIMIT_NOTICE)
        .collect();
    assert_eq!(notices.len(), 1, "told once per window");
    let notice: Value = serde_json::from_slice(&notices[0].payload).unwrap();
    assert_eq!(notice["chat_id"], user);

    // Each of the 4 violations is in the Postgres record, once; the writer is asynchronous, so
    // wait (bounded) for its next flush.
    let mut recorded = 0;
    for _ in 0..50 {
        recorded = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM rate_limit_violations WHERE scope = $1 AND chat_id = $2",
        )
        .bind(ava::ingress::INBOUND_SCOPE)
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap();
        if recorded >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(recorded, 4, "one row per dropped update");

    // The worker delivers the notice politely, through the Bot API.
    let broker = app.broker();
    broker
        .enqueue(
            workers::NewJob::new(
                ava::jobs::RATE_LIMIT_NOTICE,
                Lane::High,
                user.to_string(),
                notices[0].payload.clone(),
            )
            .with_id("notice-replay"),
        )
        .await
        .unwrap();
    assert_eq!(
        app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
        Step::Ran(Outcome::Done)
    );
    let sent: Vec<Value> = app
        .telegram
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["chat_id"], user);
    assert!(
        sent[0]["text"].as_str().unwrap().contains("please wait"),
        "{}",
        sent[0]
    );

    // Each violation also reaches the hook the Postgres writer plugs into.
    let sink = Arc::new(CollectViolations::default());
    let acceptor = crate::harness::acceptor(&app.settings)
        .await
        .unwrap()
        .with_violation_sink(sink.clone());
    let accepted = acceptor
        .accept(&message(200, user, "more"), Source::Webhook)
        .await
        .unwrap();
    assert_eq!(
        accepted,
        Accepted::Limited {
            update_id: 200,
            user_id: user
        }
    );
    let seen = sink.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].user_id, seen[0].update_id, seen[0].notified),
        (user, 200, false)
    );

    stop.cancel();
    app.cleanup().await;
}

#[tokio::test]
async fn the_inbound_bucket_refills() {
    let app = TestApp::spawn().await;
    let mut settings = app.settings.inbound_limit.clone();
    settings.burst = 2;
    settings.refill_per_sec = 5.0;
    let redis = app.backends.redis.clone();
    let limiter = ava::ingress::InboundLimiter::new(redis, &app.settings.redis.prefix, &settings);
    assert_eq!(limiter.take(1).await.unwrap(), Verdict::Allowed);
    assert_eq!(limiter.take(1).await.unwrap(), Verdict::Allowed);
    assert_eq!(limiter.take(1).await.unwrap(), Verdict::Exceeded { notify: true });
    assert_eq!(
        limiter.take(1).await.unwrap(),
        Verdict::Exceeded { notify: false }
    );
    assert_eq!(
        limiter.take(2).await.unwrap(),
        Verdict::Allowed,
        "buckets are per user"
    );
    // One token comes back every 200 ms; 400 ms leaves a safe margin.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(limiter.take(1).await.unwrap(), Verdict::Allowed);
    app.cleanup().await;
}
