//! A fake AWS Lambda Runtime API (the `2018-06-01` interface a custom runtime polls), on
//! 127.0.0.1 with an ephemeral port, and the real `bootstrap` binary started against it.
//!
//! - `GET  /2018-06-01/runtime/invocation/next` blocks until the test invokes, then hands out the
//!   event with `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn` and
//!   `-Trace-Id`, as Lambda does;
//! - `POST …/invocation/{id}/response` and `…/invocation/{id}/error` complete that invocation;
//! - `POST /2018-06-01/runtime/init/error` records a failed init.
//!
//! Also used by `benches/lambda_cold_start.rs` (through `#[path]`), so it depends on nothing else
//! in the test binary.

use std::{
    collections::HashMap,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};

/// The ARN the fake says the function has.
pub(crate) const FUNCTION_ARN: &str = "arn:aws:lambda:eu-central-1:123456789012:function:ava-ingress";

/// How one invocation ended, as the runtime reported it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// `POST …/response` with this JSON body.
    Response(Value),
    /// `POST …/error` with the `Lambda-Runtime-Function-Error-Type` header and this body.
    Error { error_type: Option<String>, body: Value },
}

struct Invocation {
    id: String,
    event: Value,
}

struct Inner {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: watch::Sender<Option<Value>>,
    first_next: watch::Sender<Option<Instant>>,
    next_calls: AtomicU64,
}

/// A running fake Runtime API. Invocations are served one at a time, in order, as Lambda does
/// for one execution environment.
pub(crate) struct FakeRuntimeApi {
    addr: SocketAddr,
    inner: Arc<Inner>,
    events: mpsc::UnboundedSender<Invocation>,
    sequence: AtomicU64,
    server: tokio::task::JoinHandle<()>,
}

impl FakeRuntimeApi {
    pub(crate) async fn start() -> Self {
        let (events, events_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            events: tokio::sync::Mutex::new(events_rx),
            waiting: Mutex::default(),
            init_error: watch::channel(None).0,
            first_next: watch::channel(None).0,
            next_calls: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Runtime API");
        let addr = listener.local_addr().expect("fake Runtime API address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            inner,
            events,
            sequence: AtomicU64::new(0),
            server,
        }
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`: `host:port`, no scheme.
    pub(crate) fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// Invokes the function with `event` and waits for its response or error.
    pub(crate) async fn invoke(&self, event: Value) -> Outcome {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let id = format!("8476a536-e9f4-11e8-9739-{n:012x}");
        let (done, outcome) = oneshot::channel();
        self.inner.waiting.lock().unwrap().insert(id.clone(), done);
        self.events
            .send(Invocation {
                id: id.clone(),
                event,
            })
            .expect("fake Runtime API is running");
        tokio::time::timeout(Duration::from_secs(30), outcome)
            .await
            .unwrap_or_else(|_| panic!("invocation {id}: no response or error within 30 s"))
            .expect("invocation answered")
    }

    /// Waits until the runtime first asks for an invocation (its init is over); `None` on timeout.
    pub(crate) async fn first_next(&self, timeout: Duration) -> Option<Instant> {
        let mut rx = self.inner.first_next.subscribe();
        let seen = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        seen.ok().and_then(|r| r.ok().and_then(|v| *v))
    }

    /// Waits for an `init/error` report: its header and body; `None` on timeout.
    pub(crate) async fn init_error(&self, timeout: Duration) -> Option<Value> {
        let mut rx = self.inner.init_error.subscribe();
        let seen = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        seen.ok().and_then(|r| r.ok().and_then(|v| v.clone()))
    }

    /// How many times the runtime asked for an invocation.
    pub(crate) fn next_calls(&self) -> u64 {
        self.inner.next_calls.load(Ordering::Relaxed)
    }
}

impl Drop for FakeRuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    inner.next_calls.fetch_add(1, Ordering::Relaxed);
    inner
        .first_next
        .send_if_modified(|at| at.is_none().then(|| *at = Some(Instant::now())).is_some());
    let Some(invocation) = inner.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", invocation.id.clone()),
        ("Lambda-Runtime-Deadline-Ms", (now_ms + 30_000).to_string()),
        ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN.to_owned()),
        (
            "Lambda-Runtime-Trace-Id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0".to_owned(),
        ),
        ("Content-Type", "application/json".to_owned()),
    ];
    let mut response = invocation.event.to_string().into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    response
}

fn complete(inner: &Inner, id: &str, outcome: Outcome) -> Response {
    match inner.waiting.lock().unwrap().remove(id) {
        Some(done) => {
            let _ = done.send(outcome);
            (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "errorType": "InvalidRequestID", "errorMessage": id })),
        )
            .into_response(),
    }
}

async fn response(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> Response {
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into()));
    complete(&inner, &id, Outcome::Response(body))
}

async fn error(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    complete(&inner, &id, Outcome::Error { error_type, body })
}

async fn init_error(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inner
        .init_error
        .send_replace(Some(json!({ "error_type": error_type, "body": body })));
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

/// The `bootstrap` binary, started as Lambda starts it, killed (by its PID) on drop.
pub(crate) struct Function {
    child: Child,
    /// When it was started.
    #[allow(dead_code)] // read by the cold-start bench, not by the tests
    pub(crate) started: Instant,
}

impl Function {
    /// Starts `bootstrap` against `api` with the Lambda variables and `env` (e.g. `AVA_…`).
    pub(crate) fn start(api: &FakeRuntimeApi, env: &[(String, String)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
        command
            .env("AWS_LAMBDA_RUNTIME_API", api.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", "ava-ingress")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ava-ingress")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/30/[$LATEST]test")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let started = Instant::now();
        let child = command
            .spawn()
            .expect("bootstrap starts (built by cargo with --features lambda)");
        Self { child, started }
    }

    /// The process id.
    #[allow(dead_code)] // read by the cold-start bench, not by the tests
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself; its exit code, or `None` if still running.
    pub(crate) async fn exit_code(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
