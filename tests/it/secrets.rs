//! The real binary and its configuration: `*_FILE` secrets, `ava config show` redaction and
//! sources, secrets refused in config files, the live-broker start-up refusal, and `/metrics` on
//! its own address.

use std::{
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

use crate::harness::{TestApp, database_url, redis_url};

/// A scratch directory for secret files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ava-it-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, content).expect("write scratch file");
        path.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `ava ARGS` with only the given `AVA_…` variables (none inherited), from the repository root.
fn ava(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ava"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("ava runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `key = value  # source` line of `key` in `config show` output.
fn line_of<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in:\n{out}"))
}

#[test]
fn config_show_redacts_every_secret_and_says_where_each_value_came_from() {
    let scratch = Scratch::new();
    let token = "777001:SHOW-TOKEN-FROM-FILE";
    let token_file = scratch.file("token", &format!("{token}\n"));
    let extra = scratch.file("ava.toml", "[http]\naddr = \"127.0.0.1:9999\"\n");
    let secrets = [
        ("AVA_WEBHOOK__SECRET", "SHOW-WEBHOOK-SECRET"),
        ("AVA_ADMIN__TOKEN", "SHOW-ADMIN-TOKEN"),
        ("AVA_SENTRY__DSN", "https://SHOWDSNKEY@o1.ingest.sentry.io/42"),
        ("AVA_MARKET_DATA__API_KEY", "SHOW-MARKET-KEY"),
        (
            "AVA_DATABASE__URL",
            "postgres://ava:SHOW-PG-PASSWORD@db.internal:5432/ava",
        ),
        (
            "AVA_REDIS__URL",
            "redis://default:SHOW-REDIS-PASSWORD@cache.internal:6379",
        ),
    ];
    let mut env: Vec<(&str, &str)> = secrets.to_vec();
    env.push(("AVA_TELEGRAM__TOKEN_FILE", &token_file));
    let out = ava(&["--config", &extra, "config", "show"], &env);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", text(&out.stderr));
    for secret in [
        "SHOW-TOKEN-FROM-FILE",
        "SHOW-WEBHOOK-SECRET",
        "SHOW-ADMIN-TOKEN",
        "SHOWDSNKEY",
        "SHOW-MARKET-KEY",
        "SHOW-PG-PASSWORD",
        "SHOW-REDIS-PASSWORD",
    ] {
        assert!(!stdout.contains(secret), "{secret} leaked:\n{stdout}");
    }
    let token_line = line_of(&stdout, "telegram.token");
    assert!(token_line.contains("\"<redacted>\""), "{token_line}");
    assert!(
        token_line.ends_with("# env AVA_TELEGRAM__TOKEN_FILE (file)"),
        "{token_line}"
    );
    let secret_line = line_of(&stdout, "webhook.secret");
    assert!(secret_line.contains("<redacted>") && secret_line.ends_with("# env AVA_WEBHOOK__SECRET"));
    for key in ["admin.token", "sentry.dsn", "market_data.api_key"] {
        assert!(line_of(&stdout, key).contains("\"<redacted>\""), "{key}");
    }
    let db = line_of(&stdout, "database.url");
    assert!(
        db.contains("postgres://ava:<redacted>@db.internal:5432/ava"),
        "{db}"
    );
    assert!(line_of(&stdout, "redis.url").contains("@cache.internal:6379"));
    let addr = line_of(&stdout, "http.addr");
    // The file is named as figment shows it: absolute, or relative to the working directory.
    let scratch_name = std::path::Path::new(&extra)
        .parent()
        .and_then(|dir| dir.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    assert!(
        addr.contains("\"127.0.0.1:9999\"")
            && addr.contains("# file ")
            && addr.ends_with(&format!("{scratch_name}/ava.toml")),
        "{addr}"
    );
    assert!(line_of(&stdout, "queue.max_attempts").ends_with("# default"));
}

#[tokio::test]
async fn a_secret_from_a_file_is_the_one_ava_uses() {
    let scratch = Scratch::new();
    let token = "777002:FILE-TOKEN-USED";
    let token_file = scratch.file("token", &format!("{token}\n"));
    let telegram = MockServer::start().await;
    // Only the token from the file opens this door.
    Mock::given(method("POST"))
        .and(path(format!("/bot{token}/getWebhookInfo")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "result": { "url": "https://example.org/hook", "has_custom_certificate": false,
                "pending_update_count": 3 }
        })))
        .mount(&telegram)
        .await;
    let (uri, file) = (telegram.uri(), token_file.clone());
    // The binary blocks; the mock server needs this runtime meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        ava(
            &["webhook", "info"],
            &[
                ("AVA_TELEGRAM__API_URL", &uri),
                ("AVA_TELEGRAM__TOKEN_FILE", &file),
            ],
        )
    });
    let out = out.await.unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("pending_update_count: 3"), "{stdout}");

    // Both ways at once, or a file that cannot be read: an error naming the variable.
    let out = ava(
        &["config", "show"],
        &[
            ("AVA_TELEGRAM__TOKEN_FILE", &token_file),
            ("AVA_TELEGRAM__TOKEN", token),
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("AVA_TELEGRAM__TOKEN_FILE"), "{stderr}");
    assert!(!stderr.contains("FILE-TOKEN-USED"), "{stderr}");
    let out = ava(
        &["config", "show"],
        &[("AVA_WEBHOOK__SECRET_FILE", "/run/secrets/none")],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("AVA_WEBHOOK__SECRET_FILE") && stderr.contains("/run/secrets/none"),
        "{stderr}"
    );
}

#[test]
fn a_secret_in_a_config_file_stops_start_up_naming_the_key() {
    let scratch = Scratch::new();
    let file = scratch.file(
        "committed.toml",
        "[telegram]\ntoken = \"777003:COMMITTED-TOKEN\"\n",
    );
    let out = ava(&["--config", &file, "worker"], &[]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("`telegram.token`") && stderr.contains("AVA_TELEGRAM__TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains("COMMITTED-TOKEN"), "{stderr}");
}

#[test]
fn a_live_broker_without_an_allowlisted_trader_stops_start_up() {
    let live = ("AVA_BROKER__PROVIDER", "alpaca");
    let mode = ("AVA_BROKER__MODE", "live");
    let token = ("AVA_TELEGRAM__TOKEN", "777004:T");
    let out = ava(&["worker"], &[live, mode, token]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("access.mode") && stderr.contains("allowlist"),
        "{stderr}"
    );
    let out = ava(
        &["worker"],
        &[live, mode, token, ("AVA_ACCESS__MODE", "allowlist")],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("access.traders"), "{stderr}");
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

async fn wait_until_up(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(url).send().await.is_err() {
        assert!(Instant::now() < deadline, "{url} never came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_can_be_served_apart_from_the_webhook() {
    let app = TestApp::spawn().await;
    let (addr, metrics_addr) = (free_addr(), free_addr());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ava"))
        .arg("ingress")
        .env("AVA_HTTP__ADDR", &addr)
        .env("AVA_HTTP__METRICS_ADDR", &metrics_addr)
        .env("AVA_WEBHOOK__SECRET", "metrics-apart")
        .env("AVA_REDIS__URL", redis_url())
        .env("AVA_REDIS__PREFIX", &app.settings.redis.prefix)
        .env("AVA_DATABASE__URL", database_url())
        .env("AVA_DATABASE__SCHEMA", &app.settings.database.schema)
        .env("AVA_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("ava ingress starts");
    let http = &app.http;
    wait_until_up(http, &format!("http://{addr}/health")).await;
    wait_until_up(http, &format!("http://{metrics_addr}/metrics")).await;
    let page = http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("ava_access_denied_total"));
    let on_webhook_port = http.get(format!("http://{addr}/metrics")).send().await.unwrap();
    assert_eq!(on_webhook_port.status(), 404, "not where Telegram reaches");
    child.start_kill().ok();
    let _ = child.wait().await;
    app.cleanup().await;
}

#[test]
fn start_up_errors_name_the_key_and_never_the_password() {
    let cases = [
        (
            vec!["worker"],
            ("AVA_REDIS__URL", "redis://default:ERR-REDIS-PW@127.0.0.1:1"),
            "redis.url",
        ),
        (
            vec!["migrate"],
            (
                "AVA_DATABASE__URL",
                "postgres://ava:ERR-PG-PW@127.0.0.1:notaport/ava",
            ),
            "database.url",
        ),
    ];
    for (args, var, key) in cases {
        let out = ava(&args, &[var, ("AVA_TELEGRAM__TOKEN", "777005:ERR-TOKEN")]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail: {stderr}");
        assert!(stderr.contains(key), "{stderr}");
        for secret in ["ERR-REDIS-PW", "ERR-PG-PW", "ERR-TOKEN"] {
            assert!(!stderr.contains(secret), "{secret} in {stderr}");
        }
    }
}
