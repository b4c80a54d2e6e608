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
    assert_eq!(limiter.take(1, 1).await.unwrap(), Verdict::Allowed);
    assert_eq!(limiter.take(1, 2).await.unwrap(), Verdict::Allowed);
    assert_eq!(
        limiter.take(1, 3).await.unwrap(),
        Verdict::Exceeded { notify: true }
    );
    assert_eq!(
        limiter.take(1, 4).await.unwrap(),
        Verdict::Exceeded { notify: false }
    );
    assert_eq!(
        limiter.take(2, 5).await.unwrap(),
        Verdict::Allowed,
        "buckets are per user"
    );
    // One token comes back every 200 ms; 400 ms leaves a safe margin.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(limiter.take(1, 6).await.unwrap(), Verdict::Allowed);
    app.cleanup().await;
}

#[tokio::test]
async fn a_redelivered_update_costs_the_user_nothing() {
    let app = TestApp::spawn_with(|fig| {
        // No refill to speak of: every token taken stays taken for the test.
        fig.merge(Serialized::default("inbound_limit.refill_per_sec", 0.01))
    })
    .await;
    let user = 5151;
    let burst = app.settings.inbound_limit.burst as i64;
    // Telegram delivers the same update 20 times (the webhook's 2xx got lost, say).
    for _ in 0..20 {
        assert_eq!(
            app.post_update(message(9_001, user, "hi"), Some(SECRET)).await,
            200
        );
    }
    // The user still has burst - 1 tokens: that many new updates pass, the next is limited.
    for id in 1..burst {
        assert_eq!(
            app.post_update(message(9_001 + id, user, "hi"), Some(SECRET))
                .await,
            200
        );
    }
    assert_eq!(
        app.post_update(message(9_001 + burst, user, "hi"), Some(SECRET))
            .await,
        200
    );
    let jobs = drain_jobs(&app.settings).await;
    let mut updates: Vec<String> = jobs
        .iter()
        .filter(|j| j.kind == ava::jobs::TELEGRAM_UPDATE)
        .map(|j| j.id.clone())
        .collect();
    updates.sort();
    let expected: Vec<String> = (0..burst).map(|i| (9_001 + i).to_string()).collect();
    assert_eq!(
        updates, expected,
        "the duplicate once, then burst - 1 new updates; the last one limited"
    );
    assert_eq!(
        jobs.iter()
            .filter(|j| j.kind == ava::jobs::RATE_LIMIT_NOTICE)
            .count(),
        1,
        "the user is told once, for the update over the limit"
    );

    // A redelivery of the limited update is limited again, without a second notice.
    let limiter = ava::ingress::InboundLimiter::new(
        app.backends.redis.clone(),
        &app.settings.redis.prefix,
        &app.settings.inbound_limit,
    );
    assert_eq!(
        limiter.take(user, 9_001 + burst).await.unwrap(),
        Verdict::Exceeded { notify: false }
    );
    assert_eq!(
        limiter.take(user, 9_001).await.unwrap(),
        Verdict::Allowed,
        "the first verdict stands"
    );
    app.cleanup().await;
}
