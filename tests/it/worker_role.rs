//! `ava worker` as operators run it: the whole role, its `/metrics`, and a clean stop.

use std::time::Duration;

use ava::{config::Settings, shutdown::Shutdown};

use crate::harness::{SECRET, TestApp, fixture};

#[tokio::test]
async fn the_worker_role_replies_serves_metrics_and_stops_on_shutdown() {
    let app = TestApp::spawn().await;
    // A free port for the worker's /metrics.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings: Settings = app.settings.clone();
    settings.worker.metrics_addr = format!("127.0.0.1:{port}");
    settings.worker.concurrency = 2;
    let stop = Shutdown::new();
    let role = tokio::spawn(ava::worker::run(settings, None, stop.clone()));

    assert_eq!(
        app.post_update(fixture("message_start.json"), Some(SECRET)).await,
        200
    );
    // The role runs on its own; wait (bounded) for its reply to reach the fake Bot API.
    let mut replied = false;
    for _ in 0..100 {
        let requests = app.telegram.received_requests().await.unwrap();
        if requests.iter().any(|r| r.url.path().ends_with("/sendMessage")) {
            replied = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(replied, "the worker role answered /start");

    let page = app
        .http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("the worker serves /metrics")
        .text()
        .await
        .unwrap();
    assert!(page.contains(workers::metrics::JOB_DURATION), "{page}");
    assert!(page.contains(workers::metrics::ENQUEUE_TO_START), "{page}");
    assert!(!page.contains(crate::harness::TOKEN), "no token in metrics");

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), role)
        .await
        .expect("the worker stops within its grace period")
        .unwrap()
        .expect("the worker stops cleanly");
    app.cleanup().await;
}
