//! Helpers for the Telegram-edge tests: reading back queued jobs, a private redis-server, and a
//! fake Bot API that records when each request arrived.

use std::{
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ava::config::Settings;
use serde_json::Value;
use wiremock::{Request, Respond, ResponseTemplate};

use workers::{Job, Outcome, Runner};

/// Leases (and finishes) every job queued under the settings' prefix, in lease order.
pub(crate) async fn drain_jobs(settings: &Settings) -> Vec<Job> {
    let broker = ava::app::Backends::connect(settings)
        .await
        .expect("backends connect")
        .queue;
    let executed = Runner::new(broker, |_job: Job| async { Outcome::Done })
        .run_pending()
        .await
        .expect("drain");
    executed.into_iter().map(|e| e.job).collect()
}

/// A redis-server of the test's own, on 127.0.0.1:`port` (7200-7299), stopped on drop.
pub(crate) struct OwnRedis {
    child: Child,
    pub(crate) port: u16,
}

impl OwnRedis {
    pub(crate) async fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server on port {port} ({e}); install it: apt-get install redis-server"
                )
            });
        let me = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ok = match redis::Client::open(me.url())
                .unwrap()
                .get_multiplexed_async_connection()
                .await
            {
                Ok(mut conn) => redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok(),
                Err(_) => false,
            };
            if ok {
                return me;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {port} did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Freezes the server: connections stay open but nothing answers.
    pub(crate) fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Unfreezes it.
    pub(crate) fn thaw(&self) {
        self.signal("-CONT");
    }

    /// Kills it (by its PID) and waits for it to be gone.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        // A frozen process does not die of SIGKILL until... it does; but thaw first for a clean exit.
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        self.kill();
    }
}

/// One request as the fake Bot API saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) at: Instant,
    pub(crate) method: String,
    pub(crate) body: Value,
    pub(crate) status: u16,
}

type Answer = dyn Fn(&str, &Value, &[Seen]) -> (u16, Value) + Send + Sync;

/// A fake Bot API that records each request with its arrival time and answers with `answer`
/// (given the method, the body and everything seen before): an HTTP status and a JSON body.
#[derive(Clone)]
pub(crate) struct RecordingBotApi {
    seen: Arc<Mutex<Vec<Seen>>>,
    answer: Arc<Answer>,
}

impl RecordingBotApi {
    pub(crate) fn new(
        answer: impl Fn(&str, &Value, &[Seen]) -> (u16, Value) + Send + Sync + 'static,
    ) -> Self {
        Self {
            seen: Arc::default(),
            answer: Arc::new(answer),
        }
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Mounts it as the whole Bot API of `server` (clearing what was mounted before).
    pub(crate) async fn mount_on(&self, server: &wiremock::MockServer) {
        server.reset().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(self.clone())
            .mount(server)
            .await;
    }
}

impl Respond for RecordingBotApi {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let at = Instant::now();
        let method = request
            .url
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut seen = self.seen.lock().unwrap();
        let (status, answer) = (self.answer)(&method, &body, &seen);
        seen.push(Seen {
            at,
            method: method.clone(),
            body,
            status,
        });
        // An empty getUpdates is held a moment, as Telegram's long poll would, so pollers idle.
        let idle = method == "getUpdates" && answer["result"].as_array().is_some_and(Vec::is_empty);
        let template = ResponseTemplate::new(status).set_body_json(answer);
        if idle {
            template.set_delay(Duration::from_millis(200))
        } else {
            template
        }
    }
}

/// A successful sendMessage answer.
pub(crate) fn message_ok(chat_id: i64) -> (u16, Value) {
    (
        200,
        serde_json::json!({
            "ok": true,
            "result": { "message_id": 1, "date": 1763856001, "chat": { "id": chat_id, "type": "private" }, "text": "x" }
        }),
    )
}

/// A 429 answer with `retry_after` seconds.
pub(crate) fn too_many(retry_after: u64) -> (u16, Value) {
    (
        429,
        serde_json::json!({
            "ok": false, "error_code": 429,
            "description": format!("Too Many Requests: retry after {retry_after}"),
            "parameters": { "retry_after": retry_after }
        }),
    )
}

/// A private text message from `user` (whose chat id is the user id), as Telegram sends it.
pub(crate) fn message(update_id: i64, user: i64, text: &str) -> Vec<u8> {
    serde_json::json!({ "update_id": update_id, "message": { "message_id": 1, "date": 1763856000,
        "chat": { "id": user, "type": "private" }, "from": { "id": user, "is_bot": false, "first_name": "A" },
        "text": text } })
    .to_string()
    .into_bytes()
}
