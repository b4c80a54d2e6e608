//! `accept(update bytes)`: the one path every update takes in, from the webhook or the poller.
//! Parse the envelope, drop kinds AVA does not process, apply the per-user limit, classify,
//! and enqueue with the update_id as the job id (so a redelivered update is a duplicate).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use workers::{Broker, Enqueued, Lane, NewJob, RedisBroker};

use super::inbound_limit::{InboundLimiter, Verdict};
use crate::{
    app::Backends,
    config::{InboundLimitSettings, IngressSettings, LaneRules},
    jobs::{self, Payload, RateLimitNotice},
    ops::metrics as m,
    telegram::Envelope,
};

/// Where an update came from (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Telegram POSTed it.
    Webhook,
    /// getUpdates returned it.
    Polling,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Polling => "polling",
        }
    }
}

/// What became of an accepted update. Each is acknowledged to Telegram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Queued in `lane`.
    Queued {
        /// Telegram's id.
        update_id: i64,
        /// Lane it waits in.
        lane: Lane,
    },
    /// Seen before within the dedupe window; not queued again.
    Duplicate {
        /// Telegram's id.
        update_id: i64,
    },
    /// A kind AVA does not process (not in `ingress.accepted_kinds`); logged and dropped.
    Ignored {
        /// Telegram's id.
        update_id: i64,
        /// Its kind, e.g. `business_message`.
        kind: String,
    },
    /// Over the sender's inbound limit; dropped.
    Limited {
        /// Telegram's id.
        update_id: i64,
        /// The sender.
        user_id: i64,
    },
}

impl Accepted {
    /// A short word for responses, logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Accepted::Queued { .. } => "queued",
            Accepted::Duplicate { .. } => "duplicate",
            Accepted::Ignored { .. } => "ignored",
            Accepted::Limited { .. } => "rate_limited",
        }
    }
}

/// Why an update was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Not JSON, or no integer `update_id`: the sender must not retry it.
    #[error("not a Telegram update: {0}")]
    Malformed(String),
    /// Redis failed or was too slow: the update is not queued and must be delivered again.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// One inbound rate-limit violation, for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundViolation {
    /// The sender over the limit.
    pub user_id: i64,
    /// Their chat, if the update has one.
    pub chat_id: Option<i64>,
    /// The dropped update.
    pub update_id: i64,
    /// Its kind.
    pub kind: String,
    /// Whether the user was told this time.
    pub notified: bool,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Where violations go beyond the log, e.g. the Postgres `rate_limit_violations` writer.
/// Called on the request path: implementations hand off (channel, spawn) rather than block.
pub trait ViolationSink: Send + Sync + 'static {
    /// Records one violation.
    fn record(&self, violation: InboundViolation);
}

/// Accepts updates. Cheap to clone; the webhook and the poller share one.
#[derive(Clone)]
pub struct Acceptor {
    broker: RedisBroker,
    inbound: Option<InboundLimiter>,
    rules: Arc<LaneRules>,
    accepted_kinds: Arc<[String]>,
    timeout: Duration,
    notice_text: Arc<str>,
    violations: Option<Arc<dyn ViolationSink>>,
}

impl Acceptor {
    /// An acceptor on the process' queue and Redis handle, with the ingress' rules: which kinds
    /// it takes and how long it waits for Redis (`[ingress]`), the lanes (`[lanes]`) and the
    /// per-user limit (`[inbound_limit]`).
    pub fn new(
        backends: &Backends,
        ingress: &IngressSettings,
        lanes: &LaneRules,
        inbound_limit: &InboundLimitSettings,
    ) -> Self {
        let inbound = inbound_limit
            .enabled
            .then(|| InboundLimiter::new(backends.redis.clone(), backends.prefix(), inbound_limit));
        Self {
            broker: backends.queue.clone(),
            inbound,
            rules: Arc::new(lanes.clone()),
            accepted_kinds: ingress.accepted_kinds.clone().into(),
            timeout: Duration::from_millis(ingress.enqueue_timeout_ms),
            notice_text: inbound_limit.notice_text.as_str().into(),
            violations: None,
        }
    }

    /// Sends every rate-limit violation to `sink` as well as to the log.
    pub fn with_violation_sink(mut self, sink: Arc<dyn ViolationSink>) -> Self {
        self.violations = Some(sink);
        self
    }

    /// Accepts one update as Telegram sent it. `Ok` means it may be acknowledged: it is queued,
    /// or deliberately dropped. Bounded by `ingress.enqueue_timeout_ms`.
    pub async fn accept(&self, body: &[u8], source: Source) -> Result<Accepted, AcceptError> {
        let started = Instant::now();
        let result = match serde_json::from_slice::<Envelope>(body) {
            Err(e) => Err(AcceptError::Malformed(e.to_string())),
            Ok(update) => match tokio::time::timeout(self.timeout, self.accept_update(&update, body)).await {
                Ok(result) => result,
                Err(_) => Err(AcceptError::Unavailable(format!(
                    "Redis did not answer within {} ms",
                    self.timeout.as_millis()
                ))),
            },
        };
        metrics::histogram!(m::INGRESS_ACCEPT_SECONDS).record(started.elapsed().as_secs_f64());
        let (label, lane) = match &result {
            Ok(Accepted::Queued { lane, .. }) => ("queued", lane.as_str()),
            Ok(other) => (other.label(), "none"),
            Err(AcceptError::Malformed(_)) => ("malformed", "none"),
            Err(AcceptError::Unavailable(_)) => ("unavailable", "none"),
        };
        metrics::counter!(m::INGRESS_UPDATES, "source" => source.as_str(), "result" => label, "lane" => lane)
            .increment(1);
        result
    }

    async fn accept_update(&self, update: &Envelope, body: &[u8]) -> Result<Accepted, AcceptError> {
        let update_id = update.update_id;
        let kind = update.kind();
        if !self.accepted_kinds.iter().any(|k| k == kind) {
            // The kind is a JSON key Telegram chose; cut it so a strange one cannot flood the log.
            let kind: String = kind.chars().take(64).collect();
            tracing::info!(update_id, %kind, "update kind not processed; acknowledged and dropped");
            return Ok(Accepted::Ignored { update_id, kind });
        }
        if let (Some(limiter), Some(user_id)) = (&self.inbound, update.user_id()) {
            let verdict = limiter.take(user_id).await.map_err(unavailable)?;
            if let Verdict::Exceeded { notify } = verdict {
                self.record_violation(update, user_id, notify).await;
                return Ok(Accepted::Limited { update_id, user_id });
            }
        }
        let lane = self.rules.classify(update);
        let key = update
            .chat_id()
            .map(|id| id.to_string())
            .unwrap_or_else(|| format!("update:{update_id}"));
        let job = NewJob::new(jobs::TELEGRAM_UPDATE, lane, key, body.to_vec()).with_id(update_id.to_string());
        match self.broker.enqueue(job).await.map_err(unavailable)? {
            Enqueued::Queued(_) => {
                tracing::debug!(update_id, kind, %lane, "queued");
                Ok(Accepted::Queued { update_id, lane })
            }
            Enqueued::Duplicate => {
                tracing::debug!(update_id, "duplicate update dropped");
                Ok(Accepted::Duplicate { update_id })
            }
        }
    }

    async fn record_violation(&self, update: &Envelope, user_id: i64, notify: bool) {
        let violation = InboundViolation {
            user_id,
            chat_id: update.chat_id(),
            update_id: update.update_id,
            kind: update.kind().chars().take(64).collect(),
            notified: notify,
            at: Utc::now(),
        };
        metrics::counter!(m::INBOUND_RATE_LIMITED).increment(1);
        tracing::warn!(
            target: "ava::rate_limit",
            user_id,
            chat_id = violation.chat_id,
            update_id = violation.update_id,
            kind = %violation.kind,
            notified = notify,
            "inbound rate limit exceeded; update dropped"
        );
        if notify {
            // A private chat's id is its user's id, so a sender without a chat is reachable there.
            let chat_id = violation.chat_id.unwrap_or(user_id);
            let notice = RateLimitNotice {
                update_id: update.update_id,
                chat_id,
                user_id,
                text: self.notice_text.to_string(),
            }
            .job(Lane::High, chat_id.to_string())
            .with_id(format!("notice:{}", update.update_id));
            if let Err(e) = self.broker.enqueue(notice).await {
                // The update is dropped either way; only the courtesy message is lost.
                tracing::warn!(user_id, error = %e, "cannot queue the rate-limit notice");
            }
        }
        if let Some(sink) = &self.violations {
            sink.record(violation);
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> AcceptError {
    AcceptError::Unavailable(e.to_string())
}
