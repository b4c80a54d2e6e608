//! Polling mode against a fake getUpdates that keeps Telegram's semantics: updates stay until a
//! later call's offset confirms them.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ava::{
    config::Settings,
    ingress::{
        Acceptor,
        polling::{PollError, Poller},
    },
    shutdown::Shutdown,
    telegram::BotApi,
};
use serde_json::{Value, json};

use crate::{
    edge_support::{OwnRedis, RecordingBotApi, drain_jobs},
    harness::{TestApp, fixture},
};

/// Telegram's side of getUpdates: pending updates, and the offsets each call confirmed.
#[derive(Default)]
struct Updates {
    pending: Vec<Value>,
    offsets: Vec<Option<i64>>,
    webhook_set: bool,
    webhook_deleted: bool,
}

fn fake_telegram(state: Arc<Mutex<Updates>>) -> RecordingBotApi {
    RecordingBotApi::new(move |method, body, _| {
        let mut s = state.lock().unwrap();
        match method {
            "getUpdates" => {
                if s.webhook_set {
                    return (
                        409,
                        json!({ "ok": false, "error_code": 409,
                        "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" }),
                    );
                }
                let offset = body["offset"].as_i64();
                s.offsets.push(offset);
                if let Some(offset) = offset {
                    s.pending.retain(|u| u["update_id"].as_i64().unwrap() >= offset);
                }
                (200, json!({ "ok": true, "result": s.pending }))
            }
            "deleteWebhook" => {
                s.webhook_set = false;
                s.webhook_deleted = true;
                (200, json!({ "ok": true, "result": true }))
            }
            _ => (
                400,
                json!({ "ok": false, "error_code": 400, "description": "unexpected" }),
            ),
        }
    })
}

fn new_poller(settings: &Settings, acceptor: Acceptor) -> Poller {
    Poller::new(
        BotApi::new(&settings.telegram).unwrap(),
        acceptor,
        &settings.polling,
    )
}

fn ids(jobs: &[workers::Job]) -> Vec<String> {
    let mut ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn offsets_are_confirmed_only_after_enqueue_and_a_crash_loses_nothing() {
    let app = TestApp::spawn().await;
    let state = Arc::new(Mutex::new(Updates::default()));
    fake_telegram(state.clone()).mount_on(&app.telegram).await;
    state.lock().unwrap().pending = ["message_start.json", "message_text.json", "callback_query.json"]
        .iter()
        .map(|n| serde_json::from_slice(&fixture(n)).unwrap())
        .collect();
    let acceptor = crate::harness::acceptor(&app.settings).await.unwrap();

    // A poller fetches a batch and dies before queueing it.
    let crashed = new_poller(&app.settings, acceptor.clone());
    assert_eq!(crashed.fetch().await.unwrap().len(), 3);
    drop(crashed);
    assert!(drain_jobs(&app.settings).await.is_empty());

    // Its successor gets the same updates again, because nothing was confirmed.
    let mut poller = new_poller(&app.settings, acceptor.clone());
    assert_eq!(poller.poll_once().await.unwrap(), 3);
    assert_eq!(
        state.lock().unwrap().pending.len(),
        3,
        "not confirmed by this call"
    );
    assert_eq!(
        poller.offset(),
        Some(100000006 + 1),
        "next offset: last update_id + 1"
    );
    let queued = drain_jobs(&app.settings).await;
    assert_eq!(ids(&queued), vec!["100000001", "100000002", "100000006"]);
    // Classified by the same rules as the webhook: the callback query jumps the queue.
    for job in &queued {
        let expected = if job.id == "100000006" {
            workers::Lane::High
        } else {
            workers::Lane::Normal
        };
        assert_eq!(job.lane, expected, "update {}", job.id);
    }

    // The next call confirms them: only now does Telegram forget them.
    assert_eq!(poller.poll_once().await.unwrap(), 0);
    {
        let s = state.lock().unwrap();
        assert_eq!(s.offsets, vec![None, None, Some(100000007)]);
        assert!(s.pending.is_empty());
    }

    // A redelivery (another poller restarting from scratch) is deduped, as on the webhook.
    state.lock().unwrap().pending = vec![serde_json::from_slice(&fixture("message_start.json")).unwrap()];
    let mut restarted = new_poller(&app.settings, acceptor);
    assert_eq!(restarted.poll_once().await.unwrap(), 1, "acknowledged");
    assert!(drain_jobs(&app.settings).await.is_empty(), "but not queued twice");

    app.cleanup().await;
}

#[tokio::test]
async fn when_the_queue_fails_the_offset_stays_and_the_update_comes_back() {
    let app = TestApp::spawn().await;
    let state = Arc::new(Mutex::new(Updates::default()));
    fake_telegram(state.clone()).mount_on(&app.telegram).await;
    state.lock().unwrap().pending = vec![serde_json::from_slice(&fixture("message_text.json")).unwrap()];

    // The poller's Redis dies between fetch and enqueue.
    let mut redis = OwnRedis::start(7202).await;
    let mut own = app.settings.clone();
    own.redis.url = ava::config::Secret::new(redis.url());
    let mut failing = new_poller(&own, crate::harness::acceptor(&own).await.unwrap());
    let batch = failing.fetch().await.unwrap();
    redis.kill();
    match failing.accept(batch).await {
        Err(PollError::Queue { update_id, .. }) => assert_eq!(update_id, 100000002),
        other => panic!("expected a queue error, got {other:?}"),
    }
    assert_eq!(failing.offset(), None, "nothing confirmed");
    drop(failing);

    // A poller on a working Redis receives the same update and queues it.
    let mut poller = new_poller(
        &app.settings,
        crate::harness::acceptor(&app.settings).await.unwrap(),
    );
    assert_eq!(poller.poll_once().await.unwrap(), 1);
    assert_eq!(ids(&drain_jobs(&app.settings).await), vec!["100000002"]);
    app.cleanup().await;
}

#[tokio::test]
async fn a_set_webhook_stops_polling_with_a_clear_message_or_is_deleted_when_configured() {
    let app = TestApp::spawn().await;
    let state = Arc::new(Mutex::new(Updates {
        webhook_set: true,
        pending: vec![serde_json::from_slice(&fixture("message_start.json")).unwrap()],
        ..Updates::default()
    }));
    fake_telegram(state.clone()).mount_on(&app.telegram).await;
    let acceptor = crate::harness::acceptor(&app.settings).await.unwrap();

    let mut stepped = new_poller(&app.settings, acceptor.clone());
    let err = stepped.poll_once().await.unwrap_err();
    assert!(matches!(err, PollError::WebhookSet), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("ava webhook delete") && message.contains("polling.delete_webhook"),
        "{message}"
    );
    let stopped = ava::ingress::polling::run(&app.settings, acceptor.clone(), Shutdown::new())
        .await
        .unwrap_err();
    assert!(stopped.to_string().contains("webhook is set"), "{stopped}");
    assert!(!state.lock().unwrap().webhook_deleted);

    // With polling.delete_webhook = true the poller deletes it and carries on.
    let mut settings = app.settings.clone();
    settings.polling.delete_webhook = true;
    settings.polling.timeout_secs = 1;
    let shutdown = Shutdown::new();
    let running = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { ava::ingress::polling::run(&settings, acceptor, shutdown).await }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut jobs = Vec::new();
    while jobs.is_empty() {
        assert!(Instant::now() < deadline, "the poller did not queue the update");
        tokio::time::sleep(Duration::from_millis(100)).await;
        jobs = drain_jobs(&app.settings).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
    assert!(state.lock().unwrap().webhook_deleted);
    assert_eq!(ids(&jobs), vec!["100000001"]);
    app.cleanup().await;
}

#[tokio::test]
async fn the_poller_backs_off_on_errors_and_recovers() {
    let app = TestApp::spawn().await;
    // Two 502s, then the update.
    let fake = RecordingBotApi::new(|_, _, seen| {
        if seen.len() < 2 {
            (
                502,
                json!({ "ok": false, "error_code": 502, "description": "Bad Gateway" }),
            )
        } else if seen.len() == 2 {
            (
                200,
                json!({ "ok": true, "result": [serde_json::from_slice::<Value>(&fixture("message_text.json")).unwrap()] }),
            )
        } else {
            (200, json!({ "ok": true, "result": [] }))
        }
    });
    fake.mount_on(&app.telegram).await;
    let acceptor = crate::harness::acceptor(&app.settings).await.unwrap();
    let shutdown = Shutdown::new();
    let running = tokio::spawn({
        let (settings, shutdown) = (app.settings.clone(), shutdown.clone());
        async move { ava::ingress::polling::run(&settings, acceptor, shutdown).await }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut jobs = Vec::new();
    while jobs.is_empty() {
        assert!(Instant::now() < deadline, "the poller did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
        jobs = drain_jobs(&app.settings).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();
    assert_eq!(ids(&jobs), vec!["100000002"]);
    let seen = fake.seen();
    // Backoff starts at 500 ms (±25 %) and doubles.
    assert!(
        seen[1].at - seen[0].at >= Duration::from_millis(370),
        "{:?}",
        seen[1].at - seen[0].at
    );
    assert!(
        seen[2].at - seen[1].at >= Duration::from_millis(740),
        "{:?}",
        seen[2].at - seen[1].at
    );
    app.cleanup().await;
}
