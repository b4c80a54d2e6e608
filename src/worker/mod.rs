//! The worker role: leases jobs, turns each update into replies, and records both.

mod chat_state;
mod conversation;
mod dead_letter_mirror;
mod job_record;
mod nlu;
mod pauses;
mod requests;
mod scheduled;
mod voice;

pub use pauses::TELEGRAM_429_SCOPE;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::Instrument;
use workers::{Broker, Job, Outcome, RedisBroker, Runner};

use crate::{
    config::Settings,
    ingress::Envelope,
    shutdown::Shutdown,
    store::{self, LogWriter, MessageLogRow, Store, UserSeen},
    telegram::{Outbound, TelegramError},
};

/// Job kind of a Telegram update queued by the ingress or the poller.
pub const TELEGRAM_UPDATE: &str = "telegram_update";

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A job ran and ended with this outcome.
    Ran(Outcome),
    /// No job arrived within the wait.
    Empty,
}

/// One worker process's state, shared by its consumer tasks.
#[derive(Clone)]
pub struct Worker {
    broker: RedisBroker,
    outbound: Outbound,
    /// AVA's own tables (alerts, prices, the paper broker); log rows go through `log`.
    store: Store,
    log: LogWriter,
    /// Days each table keeps its rows, for the retention job.
    retention: crate::config::RetentionDays,
    name: String,
    conv: conversation::ConversationDeps,
}

impl Worker {
    /// Connects to Redis, and prepares the Bot API client and the Postgres pool.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let broker = crate::queue::connect(settings).await?;
        let store = Store::connect_lazy(&settings.database)?;
        let log = store::start_writer(settings).await?;
        Ok(Self {
            broker,
            outbound: Outbound::connect(settings)
                .await?
                .with_pause_sink(Arc::new(pauses::RecordedPauses::new(log.clone()))),
            conv: conversation::ConversationDeps::build(settings, &store).await?,
            log,
            retention: settings.store.retention_days.clone(),
            store,
            name: format!("{}-{}", hostname(), std::process::id()),
        })
    }

    /// The log writer; tests flush it before reading Postgres.
    pub fn log(&self) -> &LogWriter {
        &self.log
    }

    /// Leases one job, waiting up to `wait` for one, runs it and settles it. Tests step with this.
    pub async fn try_execute_one(&self, wait: Duration) -> anyhow::Result<Step> {
        let runner = self.runner();
        if let Some(executed) = runner.try_execute().await? {
            return Ok(Step::Ran(executed.outcome));
        }
        self.broker.wait_for_work(wait).await?;
        Ok(match runner.try_execute().await? {
            Some(executed) => Step::Ran(executed.outcome),
            None => Step::Empty,
        })
    }

    /// The job runtime's consumer over this worker's handler.
    fn runner(
        &self,
    ) -> Runner<
        RedisBroker,
        impl Fn(Job) -> futures::future::BoxFuture<'static, Outcome> + Send + Sync + 'static,
    > {
        let worker = self.clone();
        Runner::new(
            self.broker.clone(),
            move |job: Job| -> futures::future::BoxFuture<'static, Outcome> {
                let worker = worker.clone();
                Box::pin(async move { worker.handle(&job).await })
            },
        )
        .on_attempt(job_record::attempt_hook(self.log.clone(), self.name.clone()))
    }

    async fn handle(&self, job: &Job) -> Outcome {
        // Instrumented rather than entered: the job's future runs on the runtime's tasks and must
        // be Send, which a span guard held across awaits is not.
        let span = tracing::info_span!(
            "job",
            job_id = %job.id,
            update_id = tracing::field::Empty,
            chat_id = tracing::field::Empty
        );
        match job.kind.as_str() {
            TELEGRAM_UPDATE => self.handle_update(job).instrument(span).await,
            crate::ingress::RATE_LIMIT_NOTICE => self.handle_notice(job).instrument(span).await,
            other => match self.handle_scheduled(job).instrument(span).await {
                Some(outcome) => outcome,
                None => Outcome::Permanent(format!("unknown job kind {other:?}")),
            },
        }
    }

    async fn handle_update(&self, job: &Job) -> Outcome {
        let started_at = Utc::now();
        let raw: Value = match serde_json::from_slice(&job.payload) {
            Ok(raw) => raw,
            Err(e) => return Outcome::Permanent(format!("payload is not JSON: {e}")),
        };
        let envelope: Envelope = match serde_json::from_value(raw.clone()) {
            Ok(envelope) => envelope,
            Err(e) => return Outcome::Permanent(format!("payload is not an update: {e}")),
        };
        let span = tracing::Span::current();
        span.record("update_id", envelope.update_id);
        span.record("chat_id", envelope.chat_id());
        if let Some(user) = UserSeen::from_update(&raw, started_at) {
            self.log.record(user).await;
        }
        // The user wrote, so they can be written to again: lift an "unreachable" mark.
        if envelope.kind() == "message"
            && let Some(chat_id) = envelope.chat_id()
            && let Err(e) = self.outbound.limiter().clear_blocked(chat_id).await
        {
            tracing::warn!(error = %e, "cannot clear the chat's unreachable mark");
        }
        let outcome = self.respond(envelope.update_id, &job.payload).await;
        let (label, error) = match &outcome {
            Outcome::Done => ("done", None),
            Outcome::Retry(e) | Outcome::RetryAfter(_, e) => ("retry", Some(e.clone())),
            Outcome::Permanent(e) => ("failed", Some(e.clone())),
        };
        // The ingress stamps no separate receipt time yet: it enqueues as it receives.
        let enqueued_at = DateTime::from_timestamp_millis(job.enqueued_at_ms as i64);
        self.log
            .record(MessageLogRow {
                update_id: envelope.update_id,
                chat_id: envelope.chat_id(),
                user_id: envelope.user_id(),
                kind: envelope.kind().to_owned(),
                lane: job.lane.as_str().to_owned(),
                text: envelope.text().map(str::to_owned),
                command: envelope.text().and_then(store::command_of),
                received_at: enqueued_at.unwrap_or(started_at),
                enqueued_at,
                started_at,
                finished_at: Some(Utc::now()),
                outcome: Some(label.to_owned()),
                error,
                attempts: job.attempts as i32,
                worker: self.name.clone(),
                raw,
            })
            .await;
        outcome
    }

    async fn respond(&self, update_id: i64, payload: &[u8]) -> Outcome {
        self.converse_update(update_id, payload).await
    }

    /// The ingress' polite "you are sending too fast" message, at most once per window.
    async fn handle_notice(&self, job: &Job) -> Outcome {
        let notice: Value = match serde_json::from_slice(&job.payload) {
            Ok(notice) => notice,
            Err(e) => return Outcome::Permanent(format!("notice payload is not JSON: {e}")),
        };
        let (Some(update_id), Some(chat_id), Some(text)) = (
            notice["update_id"].as_i64(),
            notice["chat_id"].as_i64(),
            notice["text"].as_str(),
        ) else {
            return Outcome::Permanent("notice payload lacks update_id, chat_id or text".into());
        };
        let body = serde_json::json!({ "chat_id": chat_id, "text": text });
        match self
            .call_logged(chat_id, Some(update_id), "sendMessage", &body)
            .await
        {
            Ok(()) => Outcome::Done,
            Err(TelegramError::RetryAfter(after)) => Outcome::RetryAfter(after, "Telegram 429".into()),
            Err(e @ TelegramError::Transient(_)) => Outcome::Retry(e.to_string()),
            Err(e @ TelegramError::Refused { .. }) => Outcome::Permanent(e.to_string()),
        }
    }
}

/// `ava worker`: runs up to `worker.concurrency` jobs at once until shutdown.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    settings.require_token()?;
    let worker = Worker::build(&settings).await?;
    tracing::info!(concurrency = settings.worker.concurrency, name = %worker.name, "worker running");
    crate::ops::metrics::install();
    let metrics = serve_metrics(&settings.worker.metrics_addr, shutdown.clone()).await?;
    worker
        .runner()
        .concurrency(settings.worker.concurrency)
        .run(async move { shutdown.cancelled().await })
        .await?;
    if let Some(metrics) = metrics {
        metrics.await??;
    }
    let flushed = worker.log.flush().await;
    if flushed.held > 0 {
        tracing::error!(
            held = flushed.held,
            "stopping with log rows neither Postgres nor the Redis spool took"
        );
    }
    tracing::info!("worker stopped");
    Ok(())
}

/// Serves `GET /metrics` on `addr` until shutdown; nothing when `addr` is empty.
async fn serve_metrics(
    addr: &str,
    shutdown: Shutdown,
) -> anyhow::Result<Option<tokio::task::JoinHandle<anyhow::Result<()>>>> {
    if addr.is_empty() {
        return Ok(None);
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on worker.metrics_addr {addr}: {e}"))?;
    tracing::info!(%addr, "worker serves /metrics");
    Ok(Some(tokio::spawn(crate::ingress::serve(
        listener,
        crate::ops::metrics::router(),
        shutdown,
    ))))
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned())
}
