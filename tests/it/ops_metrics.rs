//! Metrics from the first second: a freshly started `ava ingress` and `ava worker` (the real
//! binary) export every name of the catalogue, each known label value at zero, in a form
//! `promtool check metrics` accepts.

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::harness::{SECRET, TOKEN, TestApp};

/// A free port on 127.0.0.1 (bound then released; the child binds it right after).
pub(crate) fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

/// `ava ROLE` with the test's Redis prefix, schema and fake Bot API, plus `env`.
pub(crate) fn spawn_role(app: &TestApp, role: &str, env: &[(&str, &str)]) -> KillOnDrop {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ava"));
    command
        .arg(role)
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
    KillOnDrop(command.spawn().expect("the ava binary starts"))
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
    let (ingress_addr, worker_addr) = (free_addr(), free_addr());
    let _ingress = spawn_role(&app, "ingress", &[("AVA_HTTP__ADDR", &ingress_addr)]);
    let _worker = spawn_role(&app, "worker", &[("AVA_WORKER__METRICS_ADDR", &worker_addr)]);
    for (role, addr) in [("ingress", &ingress_addr), ("worker", &worker_addr)] {
        let text = scrape(&app.http, &format!("http://{addr}/metrics")).await;
        let names = declared(&text);
        let missing: Vec<&&str> = ava::ops::metrics::CATALOGUE
            .iter()
            .filter(|name| !names.contains(name))
            .collect();
        assert!(missing.is_empty(), "a fresh {role} does not export {missing:?}");
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
