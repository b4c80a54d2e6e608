//! What a newcomer hit on a first run: each one fixed and kept fixed.

use std::process::{Command, Stdio};

use ava::{config::Settings, emulator::Emulator, shutdown::Shutdown};
use figment::providers::Serialized;
use serde_json::{Value, json};

use crate::harness::{SECRET, TestApp, database_url, redis_url};

const TOKEN: &str = "4242:PAPER-CUTS";

fn ava() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ava"));
    // Only what a test sets: no AVA_ or RUST_LOG from the shell running the tests.
    for (key, _) in std::env::vars() {
        if key.starts_with("AVA_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("ava runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Multi-threaded: the emulator must answer while this thread waits for the child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_work_against_the_emulator_with_plain_logs_in_a_pipe() {
    let emu = Emulator::start(Some(TOKEN.into())).await.unwrap();
    let dir = std::env::temp_dir().join(format!("ava-paper-cuts-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("extra.toml");
    std::fs::write(&file, "[telegram]\nrequest_timeout_secs = 5\n").unwrap();
    let schema = format!("t_{:016x}", rand::random::<u64>());

    // `ava webhook info` against the emulator, configured through AVA_CONFIG.
    let (ok, out, err) = run(ava()
        .args(["webhook", "info"])
        .env("AVA_CONFIG", &file)
        .env("AVA_TELEGRAM__API_URL", emu.api_url())
        .env("AVA_TELEGRAM__TOKEN", TOKEN));
    assert!(ok, "webhook info failed: {err}");
    assert!(out.contains("pending_update_count: 0"), "{out}");

    // Logs written to a pipe carry no colour codes.
    let (ok, out, err) = run(ava()
        .arg("migrate")
        .env("AVA_DATABASE__URL", database_url())
        .env("AVA_DATABASE__SCHEMA", &schema)
        .env("AVA_REDIS__URL", redis_url()));
    assert!(ok, "migrate failed: {err}");
    let logs = format!("{out}{err}");
    assert!(logs.contains("migrations applied"), "{logs}");
    assert!(!logs.contains('\u{1b}'), "ANSI escapes in piped logs: {logs:?}");
    assert!(!logs.contains("cannot read the spool length"), "{logs}");
    // A CLI command that writes the record stops without a spurious spool warning.
    let (ok, out, err) = run(ava()
        .args(["dlq", "purge", "--all"])
        .env("AVA_DATABASE__URL", database_url())
        .env("AVA_DATABASE__SCHEMA", &schema)
        .env("AVA_REDIS__URL", redis_url())
        .env("AVA_REDIS__PREFIX", format!("avatest:{schema}")));
    assert!(ok, "dlq purge failed: {err}");
    assert!(!format!("{out}{err}").contains("spool"), "{out}{err}");

    // A log filter that would log nothing is refused, naming where it came from.
    let (ok, _, err) = run(ava()
        .args(["webhook", "info"])
        .env("AVA_LOG__FILTER", "nonsense="));
    assert!(!ok);
    assert!(
        err.contains("log.filter") && err.contains("AVA_LOG__FILTER"),
        "{err}"
    );
    let (ok, _, err) = run(ava().args(["webhook", "info"]).env("RUST_LOG", "ava=loud"));
    assert!(!ok);
    assert!(err.contains("RUST_LOG"), "{err}");

    let db = sqlx::PgPool::connect(&database_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .execute(&db)
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    emu.stop();
}

#[tokio::test]
async fn a_worker_with_a_token_telegram_refuses_does_not_start() {
    let emu = Emulator::start(Some(TOKEN.into())).await.unwrap();
    let settings = |token: &str, api_url: String| {
        Settings::from_figment(
            Settings::figment(None)
                .merge(Serialized::default("telegram.api_url", api_url))
                .merge(Serialized::default("telegram.token", token))
                .merge(Serialized::default("redis.url", redis_url()))
                .merge(Serialized::default("database.url", database_url())),
        )
        .unwrap()
    };
    let err = ava::worker::run(settings("123:GARBAGE", emu.api_url()), None, Shutdown::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("telegram.token") && err.contains("401"), "{err}");
    let err = ava::worker::run(settings("garbage", emu.api_url()), None, Shutdown::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("telegram.token"), "{err}");
    // The right token passes; an unreachable Bot API is a warning, not a stop.
    ava::worker::check_token(&settings(TOKEN, emu.api_url()).telegram)
        .await
        .expect("the emulator's token is accepted");
    ava::worker::check_token(&settings(TOKEN, "http://127.0.0.1:9".into()).telegram)
        .await
        .expect("an unreachable Bot API does not stop the worker");
    emu.stop();
}

#[tokio::test]
async fn a_duplicate_update_says_why_nothing_happens() {
    let app = TestApp::spawn().await;
    let post = || async {
        app.http
            .post(format!("http://{}{}", app.addr, app.settings.webhook.path))
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .json(&json!({ "update_id": 5150, "message": { "message_id": 1, "date": 0, "chat": { "id": 7, "type": "private" }, "text": "/start" } }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(post().await["result"], json!("queued"));
    let again = post().await;
    assert_eq!(again["result"], json!("duplicate"));
    let why = again["description"].as_str().unwrap_or_default();
    assert!(
        why.contains("update_id 5150") && why.contains("new update_id"),
        "{again}"
    );
    app.cleanup().await;
}
