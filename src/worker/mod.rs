//! The worker role: leases jobs, turns each update into replies, and records both.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use teloxide_core::types::{Update, UpdateKind};
use tracing::Instrument;
use workers::{Broker, Job, Outcome, RedisBroker, Runner};

use crate::{
    config::Settings,
    conversation,
    ingress::Envelope,
    shutdown::Shutdown,
    store::{OutboundRow, Store, UpdateRow},
    telegram::{BotApi, TelegramError},
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
    bot: BotApi,
    store: Store,
    name: String,
}

impl Worker {
    /// Connects to Redis, and prepares the Bot API client and the Postgres pool.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let broker = RedisBroker::connect(
            settings.redis.url.expose(),
            &settings.redis.prefix,
            settings.queue.to_config(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to Redis at redis.url: {e}"))?;
        Ok(Self {
            broker,
            bot: BotApi::new(&settings.telegram)?,
            store: Store::connect_lazy(&settings.database)?,
            name: format!("{}-{}", hostname(), std::process::id()),
        })
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
            other => Outcome::Permanent(format!("unknown job kind {other:?}")),
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
        let row = UpdateRow {
            update_id: envelope.update_id,
            chat_id: envelope.chat_id(),
            user_id: envelope.user_id(),
            kind: envelope.kind(),
            lane: job.lane.as_str(),
            text: envelope.text(),
            raw: &raw,
            received_at: DateTime::from_timestamp_millis(job.enqueued_at_ms as i64).unwrap_or(started_at),
            started_at,
            attempts: job.attempts as i32,
            worker: &self.name,
        };
        if let Err(e) = self.store.log_update(&row).await {
            tracing::warn!(error = %e, "cannot record update in Postgres");
        }
        let outcome = self.respond(envelope.update_id, &job.payload).await;
        let label = match &outcome {
            Outcome::Done => "done",
            Outcome::Retry(_) | Outcome::RetryAfter(..) => "retry",
            Outcome::Permanent(_) => "failed",
        };
        if let Err(e) = self.store.finish_update(envelope.update_id, label).await {
            tracing::warn!(error = %e, "cannot record update outcome in Postgres");
        }
        outcome
    }

    async fn respond(&self, update_id: i64, payload: &[u8]) -> Outcome {
        // From the bytes, not from a `Value`: teloxide's types do not round-trip through `Value`.
        let update: Update = match serde_json::from_slice(payload) {
            Ok(update) => update,
            Err(e) => return Outcome::Permanent(format!("unreadable update: {e}")),
        };
        let UpdateKind::Message(message) = update.kind else {
            tracing::info!(kind = ?std::mem::discriminant(&update.kind), "update kind not handled yet; acknowledged");
            return Outcome::Done;
        };
        let Some(text) = message.text() else {
            return Outcome::Done;
        };
        let reply = conversation::reply_to(text);
        self.send(update_id, message.chat.id.0, &reply).await
    }

    async fn send(&self, update_id: i64, chat_id: i64, text: &str) -> Outcome {
        let payload = json!({ "chat_id": chat_id, "text": text });
        let result = self.bot.send_message(chat_id, text).await;
        let (message_id, status, error, latency_ms) = match &result {
            Ok(sent) => (
                Some(sent.message_id),
                "sent",
                None,
                Some(sent.latency.as_millis() as i32),
            ),
            Err(e) => (None, "failed", Some(e.to_string()), None),
        };
        let row = OutboundRow {
            update_id: Some(update_id),
            chat_id,
            method: "sendMessage",
            payload: &payload,
            message_id,
            status,
            error: error.as_deref(),
            latency_ms,
        };
        if let Err(e) = self.store.log_outbound(&row).await {
            tracing::warn!(error = %e, "cannot record reply in Postgres");
        }
        match result {
            Ok(_) => Outcome::Done,
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
    worker
        .runner()
        .concurrency(settings.worker.concurrency)
        .run(async move { shutdown.cancelled().await })
        .await?;
    tracing::info!("worker stopped");
    Ok(())
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned())
}
