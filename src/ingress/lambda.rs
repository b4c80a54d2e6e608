//! The ingress as an AWS Lambda function (`--features lambda`, binary `bootstrap`): API Gateway
//! REST (v1) and HTTP API (v2) proxy events and Lambda function URLs in, the webhook's answers
//! out, through the same checks ([`super::receive`]) and the same [`Acceptor`].
//!
//! Only the ingress belongs here. Workers and the scheduler hold leases they must renew by
//! heartbeat and block on Redis for work; a function frozen between invocations would let every
//! lease lapse (see docs/OPERATIONS.md, "Ingress on AWS Lambda").

use std::{
    process::ExitCode,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use lambda_http::{Request, service_fn};
use serde_json::json;

use super::{
    accept::{Accepted, Acceptor, InboundViolation, Source, ViolationSink},
    error::HttpError,
    receive::{self, SECRET_HEADER},
    violations::violation_row,
};
use crate::{app::Backends, config::Settings, store::LogWriter};

/// The function's state, built once per execution environment (the "init" phase) and reused by
/// every invocation it serves; rebuilt after Redis failed an update (see [`LambdaIngress::handle`]).
#[derive(Clone)]
pub struct LambdaIngress {
    settings: Arc<Settings>,
    // Lambda hands an environment one invocation at a time, so this lock is never contended.
    front: Arc<tokio::sync::Mutex<Option<Front>>>,
}

/// What answers requests: the acceptor and its connections.
struct Front {
    acceptor: Acceptor,
    secret: Arc<str>,
    body_limit: usize,
    log: LogWriter,
    violations: Arc<HeldViolations>,
}

/// Holds an invocation's rate-limit violations until its handler writes them. The webhook's sink
/// hands rows to a spawned task; here the rows must be flushed before the answer, because Lambda
/// freezes the process as soon as the answer is posted and may never thaw it.
#[derive(Default)]
struct HeldViolations(Mutex<Vec<InboundViolation>>);

impl ViolationSink for HeldViolations {
    fn record(&self, violation: InboundViolation) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(violation);
    }
}

impl HeldViolations {
    fn take(&self) -> Vec<InboundViolation> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl LambdaIngress {
    /// Checks the settings and connects the backends as `ava ingress` does; an error here is an
    /// init error. Postgres is connected lazily, only when a rate-limit violation is recorded.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.require_webhook_secret()?;
        let front = Front::build(&settings).await?;
        Ok(Self {
            settings: Arc::new(settings),
            front: Arc::new(tokio::sync::Mutex::new(Some(front))),
        })
    }

    /// Answers one HTTP request as the webhook would. The path is not checked: the API Gateway
    /// route or the function URL already chose this function.
    ///
    /// After Redis failed an update (503) the backends are dropped and the next invocation
    /// connects afresh. The Redis handle does reconnect by itself, but in the background with
    /// backoff, and a function is frozen between invocations: its timers do not run, so the first
    /// update after a blip would meet the dead link again instead of a new one.
    pub async fn handle(&self, request: Request) -> Response {
        if request.method() != Method::POST {
            let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let mut slot = self.front.lock().await;
        if slot.is_none() {
            // Bounded like an enqueue, so Telegram gets its 503 as fast as from the webhook.
            let timeout = Duration::from_millis(self.settings.ingress.enqueue_timeout_ms);
            match tokio::time::timeout(timeout, Front::build(&self.settings)).await {
                Ok(Ok(front)) => *slot = Some(front),
                Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "cannot reconnect; answering 503"),
                Err(_) => tracing::error!("reconnecting took over ingress.enqueue_timeout_ms; answering 503"),
            }
        }
        let Some(front) = slot.as_ref() else {
            return receive::respond(Err(HttpError::Unavailable));
        };
        let result = front.handle(&request).await;
        if result == Err(HttpError::Unavailable) {
            *slot = None;
        }
        receive::respond(result)
    }
}

impl Front {
    /// The process' backends, as every role connects them ([`Backends`]): one Redis handle
    /// (queue, inbound limits, log spool), a lazy Postgres pool and the log writer.
    async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let backends = Backends::connect(settings).await?;
        let violations = Arc::new(HeldViolations::default());
        let acceptor = Acceptor::new(
            &backends,
            &settings.ingress,
            &settings.lanes,
            &settings.inbound_limit,
        )
        .with_violation_sink(violations.clone());
        let log = backends.log.clone();
        Ok(Self {
            acceptor,
            secret: Arc::from(settings.webhook.secret.expose()),
            body_limit: settings.ingress.body_limit_bytes,
            log,
            violations,
        })
    }

    async fn handle(&self, request: &Request) -> Result<Accepted, HttpError> {
        let given = request.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
        receive::check_secret(&self.secret, given)?;
        // lambda_http has already decoded a base64 body (`isBase64Encoded`).
        let body: &[u8] = request.body().as_ref();
        let result = receive::accept_body(&self.acceptor, body, self.body_limit, Source::Lambda).await;
        if matches!(result, Ok(Accepted::Limited { .. })) {
            self.record_violations().await;
        }
        result
    }

    async fn record_violations(&self) {
        for violation in self.violations.take() {
            self.log.record(violation_row(violation)).await;
        }
        // To Postgres, or to the Redis spool the workers' writers drain.
        let report = self.log.flush().await;
        if report.held > 0 {
            tracing::warn!(held = report.held, "rate-limit violation rows not yet written");
        }
    }
}

/// Serves invocations from the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`) until it stops.
pub async fn run(ingress: LambdaIngress) -> anyhow::Result<()> {
    lambda_http::run(service_fn(move |request: Request| {
        let ingress = ingress.clone();
        async move { Ok::<_, std::convert::Infallible>(ingress.handle(request).await) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("Lambda runtime loop ended: {e}"))
}

/// The `bootstrap` binary: load settings (embedded defaults, `AVA_CONFIG`, `AVA_…` variables),
/// build, serve. A failure before the first invocation is reported to the Runtime API's
/// `init/error`, so the Lambda console and logs name it, and the process exits non-zero.
pub async fn main() -> ExitCode {
    let started = std::time::Instant::now();
    // lambda_runtime would panic on the first poll without it; say what is wrong instead.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "bootstrap is the ingress as an AWS Lambda function: AWS_LAMBDA_RUNTIME_API is not set \
             (run `ava ingress` for the HTTP server)"
        );
        return ExitCode::FAILURE;
    }
    let ingress = async {
        let file = std::env::var_os("AVA_CONFIG").map(std::path::PathBuf::from);
        let settings = Settings::load(file.as_deref())?;
        crate::telemetry::init(&settings.log)?;
        LambdaIngress::build(settings).await
    };
    let ingress = match ingress.await {
        Ok(ingress) => ingress,
        Err(e) => {
            eprintln!("ava lambda: init failed: {e:#}");
            report_init_error(&format!("{e:#}")).await;
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        init_ms = started.elapsed().as_millis() as u64,
        "lambda ingress ready"
    );
    match run(ingress).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ava lambda: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// POSTs `{errorType, errorMessage}` to `/2018-06-01/runtime/init/error`. Best effort: the exit
/// status tells Lambda too. The message comes from our own errors, which never carry secrets.
async fn report_init_error(message: &str) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return;
    };
    crate::install_crypto_provider();
    let sent = reqwest::Client::new()
        .post(format!("http://{api}/2018-06-01/runtime/init/error"))
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .json(&json!({ "errorType": "Runtime.InitError", "errorMessage": message }))
        .send()
        .await;
    if let Err(e) = sent {
        eprintln!("ava lambda: cannot report the init error to the Runtime API: {e}");
    }
}
