//! The real binary: `ava ingress` on SIGTERM answers 503 to new updates, then exits cleanly.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::harness::{SECRET, TestApp, fixture};

#[tokio::test]
async fn sigterm_makes_the_ingress_refuse_new_updates_then_exit() {
    let app = TestApp::spawn().await;
    let addr = "127.0.0.1:7203";
    let mut child = Command::new(env!("CARGO_BIN_EXE_ava"))
        .arg("ingress")
        .env("AVA_HTTP__ADDR", addr)
        .env("AVA_WEBHOOK__SECRET", SECRET)
        .env("AVA_REDIS__URL", app.settings.redis.url.expose())
        .env("AVA_REDIS__PREFIX", &app.settings.redis.prefix)
        .env("AVA_DATABASE__SCHEMA", &app.settings.database.schema)
        .env("AVA_INGRESS__DRAIN_SECS", "2")
        .env("AVA_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ava binary starts");
    let post = || {
        app.http
            .post(format!("http://{addr}{}", app.settings.webhook.path))
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .body(fixture("message_text.json"))
            .send()
    };
    // A real process: poll until it listens, with a generous deadline.
    let deadline = Instant::now() + Duration::from_secs(20);
    while app
        .http
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ava ingress did not start listening on {addr}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(post().await.unwrap().status(), 200);

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        post().await.unwrap().status(),
        503,
        "new updates are refused while stopping"
    );

    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ava ingress did not exit after SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "clean exit: {status}");
    app.cleanup().await;
}
