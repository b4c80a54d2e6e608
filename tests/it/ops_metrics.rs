//! Metrics from the first second: a freshly started `ava ingress` and `ava worker` (the real
//! binary) export every name of the catalogue, each known label value at zero, in a form
//! `promtool check metrics` accepts.

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::harness::{SECRET, TOKEN, TestApp};

/// `N` distinct free ports on 127.0.0.1 (all bound at once, then released; the children bind
/// them right after).
pub(crate) fn free_addrs<const N: usize>() -> [String; N] {
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("addr").to_string())
}

/// A fresh process running `ava ROLE` with the test's Redis prefix, schema and fake Bot API,
/// plus `env`.
///
/// The process is this test binary re-run on [`role_process`], not `target/debug/ava`: the
/// build directory is shared, and the `ava` binary there may have been rebuilt from another
/// checkout since this test binary was linked. The role runs the same library code the `ava`
/// binary's subcommand runs.
pub(crate) fn spawn_role(app: &TestApp, role: &str, env: &[(&str, &str)]) -> KillOnDrop {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command
        .args([
            "--ignored",
            "--exact",
            "ops_metrics::role_process",
            "--test-threads=1",
        ])
        .env("OPS_TEST_ROLE", role)
        .env("AVA_WEBHOOK__SECRET", SECRET)
        .env("AVA_TELEGRAM__TOKEN", TOKEN)
        .env("AVA_TELEGRAM__API_URL", app.telegram.uri())
        .env("AVA_REDIS__URL", app.settings.redis.url.expose())
        .env("AVA_REDIS__PREFIX", &app.settings.redis.prefix)
        .env("AVA_DATABASE__URL", app.settings.database.url.expose())
        .env("AVA_DATABASE__SCHEMA", &app.settings.database.schema)
        .env("AVA_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    KillOnDrop(command.spawn().expect("the test binary starts again"))
}

/// Not a test: the body of a process [`spawn_role`] starts (ignored, so a normal run skips it;
/// without `OPS_TEST_ROLE` it does nothing).
#[tokio::test]
#[ignore = "runs only as a child process of spawn_role"]
async fn role_process() {
    let Ok(role) = std::env::var("OPS_TEST_ROLE") else {
        return;
    };
    let settings = ava::config::Settings::load(None).expect("settings from the environment");
    ava::telemetry::init(&settings.log).expect("the test log filter is valid");
    let shutdown = ava::shutdown::on_signals();
    let result = match role.as_str() {
        "ingress" => ava::ingress::run(settings, None, shutdown).await,
        "worker" => ava::worker::run(settings, None, shutdown).await,
        "scheduler" => ava::scheduler::run(settings, shutdown).await,
        other => panic!("unknown role {other}"),
    };
    result.expect("the role runs until stopped");
}

/// A child process killed when the test ends, passing or not.
pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET url` until it answers 200 (a real process needs a moment), with a generous deadline.
pub(crate) async fn scrape(http: &reqwest::Client, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(resp) = http.get(url).send().await
            && resp.status() == 200
        {
            return resp.text().await.expect("a body");
        }
        assert!(Instant::now() < deadline, "{url} did not answer within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `promtool check metrics` on `text`; fails the test with promtool's complaints.
pub(crate) fn promtool_check_metrics(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool is not installed ({e}); install it: apt-get install -y prometheus")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The metric names a scrape declares with `# TYPE`.
fn declared(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

#[tokio::test]
async fn fresh_ingress_and_worker_export_every_catalogue_name_at_zero() {
    let app = TestApp::spawn().await;
    let [ingress_addr, worker_addr] = free_addrs();
    let _ingress = spawn_role(&app, "ingress", &[("AVA_HTTP__ADDR", &ingress_addr)]);
    let _worker = spawn_role(&app, "worker", &[("AVA_WORKER__METRICS_ADDR", &worker_addr)]);
    for (role, addr) in [("ingress", &ingress_addr), ("worker", &worker_addr)] {
        let text = scrape(&app.http, &format!("http://{addr}/metrics")).await;
        let names = declared(&text);
        let missing: Vec<&&str> = ava::ops::metrics::CATALOGUE
            .iter()
            .filter(|name| !names.contains(name))
            .collect();
        assert!(
            missing.is_empty(),
            "a fresh {role} does not export {missing:?}; it sent:\n{}",
            &text[..text.len().min(600)]
        );
        // Known label values are there at zero before anything happened.
        for series in [
            r#"ava_jobs_dead_total{lane="high"} 0"#,
            r#"ava_jobs_failed_total{lane="low"} 0"#,
            r#"ava_jobs_retried_total{lane="normal"} 0"#,
            r#"ava_telegram_requests_total{method="sendMessage",result="permanent"} 0"#,
            r#"ava_telegram_pauses_total{scope="global"} 0"#,
            r#"ava_store_rows_spooled_total 0"#,
            r#"ava_worker_jobs_total{kind="telegram_update",outcome="permanent"} 0"#,
            r#"ava_conversations_ended_total{outcome="timed_out"} 0"#,
            r#"ava_cache_requests_total{kind="quote",result="hit"} 0"#,
            r#"ava_update_to_reply_seconds_count{lane="high"} 0"#,
        ] {
            assert!(text.contains(series), "a fresh {role} lacks `{series}`");
        }
        assert!(
            !text.contains("process_resident_memory_bytes 0\n"),
            "the {role}'s memory is sampled from /proc"
        );
        promtool_check_metrics(&text);
    }
    app.cleanup().await;
}

/// A private /start, as Telegram sends it.
const START: &str = r#"{"update_id": 100000001, "message": {"message_id": 11, "from": {"id": 424242001, "is_bot": false, "first_name": "Dana"}, "chat": {"id": 424242001, "first_name": "Dana", "type": "private"}, "date": 1763856000, "text": "/start", "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}}"#;

#[tokio::test]
async fn the_ingress_receipt_stamp_is_the_logged_receipt_and_feeds_update_to_reply() {
    let app = TestApp::spawn().await;
    let before = chrono::Utc::now();
    let status = app.post_update(START.as_bytes().to_vec(), Some(SECRET)).await;
    assert_eq!(status, 200);
    // The queued payload carries the stamp in front of Telegram's JSON.
    let broker = app.broker();
    let page = workers::Broker::stats(&broker).await.expect("stats");
    assert_eq!(page.lanes.iter().map(|l| l.depth).sum::<u64>(), 1);
    assert_eq!(
        app.worker.try_execute_one(Duration::from_secs(5)).await.unwrap(),
        ava::worker::Step::Ran(workers::Outcome::Done)
    );
    app.worker.log().flush().await;
    let (received_at, enqueued_at, raw): (
        chrono::DateTime<chrono::Utc>,
        Option<chrono::DateTime<chrono::Utc>>,
        serde_json::Value,
    ) = sqlx::query_as("SELECT received_at, enqueued_at, raw FROM message_log WHERE update_id = 100000001")
        .fetch_one(&app.db)
        .await
        .expect("message_log row");
    // Millisecond stamps: the receipt is not before the test posted, and not after the enqueue.
    assert!(
        received_at >= before - chrono::Duration::milliseconds(1),
        "{received_at} < {before}"
    );
    let enqueued_at = enqueued_at.expect("enqueue time recorded");
    assert!(received_at <= enqueued_at + chrono::Duration::milliseconds(5));
    assert!(
        raw.get(ava::telegram::RECEIVED_AT_MS).is_none(),
        "the raw update is Telegram's own"
    );
    let text = ava::ops::metrics::render();
    let count = text
        .lines()
        .find_map(|l| l.strip_prefix(r#"ava_update_to_reply_seconds_count{lane="normal"} "#))
        .and_then(|n| n.parse::<u64>().ok())
        .expect("the histogram is exported for lane normal");
    assert!(count >= 1, "the reply was observed: {count}");
    app.cleanup().await;
}
