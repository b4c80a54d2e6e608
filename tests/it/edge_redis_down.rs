//! Redis unreachable: the webhook answers 503 within a second, never 200, and /ready says so.
//! The test runs its own redis-server (port 7201) and freezes, then kills it.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{
    edge_support::OwnRedis,
    harness::{SECRET, TestApp, fixture},
};

#[tokio::test]
async fn redis_down_gets_503_within_a_second_and_ready_names_it() {
    let app = TestApp::spawn().await;
    let mut redis = OwnRedis::start(7201).await;
    let mut settings = app.settings.clone();
    settings.redis.url = ava::config::Secret::new(redis.url());
    let (addr, stop, _role) = crate::harness::spawn_ingress(&settings).await;
    let post = |name: &str| {
        app.http
            .post(format!("http://{addr}{}", settings.webhook.path))
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .body(fixture(name))
            .send()
    };

    assert_eq!(post("message_start.json").await.unwrap().status(), 200);

    // A hung Redis: connections open, nothing answers. The enqueue timeout answers for it.
    redis.freeze();
    for name in ["message_text.json", "callback_query.json"] {
        let started = Instant::now();
        let status = post(name).await.unwrap().status();
        let took = started.elapsed();
        assert_eq!(status, 503, "{name}");
        assert!(took < Duration::from_secs(1), "{name}: 503 after {took:?}");
        println!("hung Redis: 503 after {took:?}");
    }
    let ready = app.http.get(format!("http://{addr}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["down"], serde_json::json!(["redis"]), "{body}");
    redis.thaw();

    // A dead Redis: connections refused.
    redis.kill();
    for name in ["message_text.json", "voice_message.json"] {
        let started = Instant::now();
        let status = post(name).await.unwrap().status();
        let took = started.elapsed();
        assert_eq!(status, 503, "{name}");
        assert!(took < Duration::from_secs(1), "{name}: 503 after {took:?}");
    }
    let ready = app.http.get(format!("http://{addr}/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    stop.cancel();
    app.cleanup().await;
}
