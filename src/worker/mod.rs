//! The worker role: leases jobs, turns each update into replies, and records both.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use teloxide_core::types::{Update, UpdateKind};
use workers::{Job, Outcome, RedisBroker};

use crate::{
    config::Settings,
    conversation,
    ingress::Envelope,
    shutdown::Shutdown,
    store::{self, LogWriter, MessageLogRow, OutboundLogRow, UserBlocked, UserSeen},
    telegram::{BotApi, TelegramError},
};

/// Job kind of a Telegram update queued by the ingress or the poller.
pub const TELEGRAM_UPDATE: &str = "telegram_update";

/// How long an idle consumer blocks waiting for a job before it checks for shutdown.
const IDLE_WAIT: Duration = Duration::from_secs(1);

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
    log: LogWriter,
    name: String,
}

impl Worker {
    /// Connects to Redis, and prepares the Bot API client and the Postgres pool.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let broker = RedisBroker::connect(settings.redis.url.expose(), &settings.redis.prefix)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at redis.url: {e}"))?;
        Ok(Self {
            broker,
            bot: BotApi::new(&settings.telegram)?,
            log: store::start_writer(settings).await?,
            name: format!("{}-{}", hostname(), std::process::id()),
        })
    }

    /// The log writer; tests flush it before reading Postgres.
    pub fn log(&self) -> &LogWriter {
        &self.log
    }

    /// Leases one job, waiting up to `wait`, runs it and records its outcome. Tests step with this.
    pub async fn try_execute_one(&self, wait: Duration) -> anyhow::Result<Step> {
        let Some(job) = self.broker.lease(wait).await? else {
            return Ok(Step::Empty);
        };
        let outcome = self.handle(&job).await;
        self.broker.finish(&job, outcome.clone()).await?;
        Ok(Step::Ran(outcome))
    }

    async fn handle(&self, job: &Job) -> Outcome {
        match job.kind.as_str() {
            TELEGRAM_UPDATE => self.handle_update(job).await,
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
        let span = tracing::info_span!(
            "job",
            update_id = envelope.update_id,
            chat_id = envelope.chat_id()
        );
        let _enter = span.enter();
        if let Some(user) = UserSeen::from_update(&raw, started_at) {
            self.log.record(user).await;
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
        let sent_at = Utc::now();
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
        self.log
            .record(OutboundLogRow {
                log_key: store::new_log_key(),
                update_id: Some(update_id),
                chat_id,
                method: "sendMessage".to_owned(),
                payload,
                message_id,
                status: status.to_owned(),
                error,
                sent_at,
                latency_ms,
            })
            .await;
        // In a private chat the chat id is the user's id: a 403 there means the user blocked the bot.
        if let Err(TelegramError::Refused { code: 403, .. }) = &result
            && chat_id > 0
        {
            self.log
                .record(UserBlocked {
                    user_id: chat_id,
                    at: Utc::now(),
                })
                .await;
        }
        match result {
            Ok(_) => Outcome::Done,
            Err(TelegramError::RetryAfter(after)) => Outcome::RetryAfter(after, "Telegram 429".into()),
            Err(e @ TelegramError::Transient(_)) => Outcome::Retry(e.to_string()),
            Err(e @ TelegramError::Refused { .. }) => Outcome::Permanent(e.to_string()),
        }
    }
}

/// `ava worker`: runs `worker.concurrency` consumers until shutdown.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    settings.require_token()?;
    let worker = Worker::build(&settings).await?;
    tracing::info!(concurrency = settings.worker.concurrency, name = %worker.name, "worker running");
    let mut consumers = tokio::task::JoinSet::new();
    for _ in 0..settings.worker.concurrency {
        let worker = worker.clone();
        let shutdown = shutdown.clone();
        consumers.spawn(async move {
            while !shutdown.is_cancelled() {
                if let Err(e) = worker.try_execute_one(IDLE_WAIT).await {
                    tracing::error!(error = %e, "consumer error; backing off");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.cancelled() => {}
                    }
                }
            }
        });
    }
    while consumers.join_next().await.is_some() {}
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

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned())
}
