//! Polling mode, for hosts without public HTTPS: long-poll getUpdates and feed each update
//! through the same [`Acceptor`] as the webhook. The offset that confirms updates to Telegram
//! only moves past an update once it is durably queued (or deliberately dropped), so a crash
//! between fetch and enqueue loses nothing: Telegram hands the same updates out again, and the
//! update_id dedupe drops the ones already queued.

use std::time::Duration;

use serde_json::Value;

use super::accept::{AcceptError, Acceptor, Source};
use crate::{
    config::{PollingSettings, Settings},
    ops::metrics as m,
    shutdown::Shutdown,
    telegram::{BotApi, TelegramError},
};

/// What `ava poll` says when a webhook is set.
pub const WEBHOOK_SET: &str = "getUpdates answered 409 Conflict: a webhook is set for this bot, and Telegram \
    does not serve getUpdates while it is. Run `ava webhook delete`, or set polling.delete_webhook = true \
    (AVA_POLLING__DELETE_WEBHOOK=true) to have the poller delete it.";

/// Why one poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// 409: a webhook is set.
    #[error("{WEBHOOK_SET}")]
    WebhookSet,
    /// 409: another process polls with the same token.
    #[error("getUpdates answered 409 Conflict: another process is polling with this bot token ({0})")]
    OtherPoller(String),
    /// getUpdates failed otherwise.
    #[error("getUpdates failed: {0}")]
    Telegram(TelegramError),
    /// The queue could not take an update; it will be fetched again.
    #[error("cannot queue update {update_id}: {source}")]
    Queue {
        /// The update not queued.
        update_id: i64,
        /// Why.
        source: AcceptError,
    },
}

/// A getUpdates consumer. Tests step it with [`Poller::poll_once`].
pub struct Poller {
    bot: BotApi,
    acceptor: Acceptor,
    settings: PollingSettings,
    offset: Option<i64>,
}

impl Poller {
    /// A poller starting from Telegram's first unconfirmed update.
    pub fn new(bot: BotApi, acceptor: Acceptor, settings: &PollingSettings) -> Self {
        Self {
            bot,
            acceptor,
            settings: settings.clone(),
            offset: None,
        }
    }

    /// The offset the next getUpdates sends: last queued update_id + 1.
    pub fn offset(&self) -> Option<i64> {
        self.offset
    }

    /// One getUpdates call from the current offset (which confirms everything before it).
    pub async fn fetch(&self) -> Result<Vec<Value>, PollError> {
        self.bot
            .get_updates(
                self.offset,
                self.settings.limit,
                Duration::from_secs(self.settings.timeout_secs),
                &self.settings.allowed_updates,
            )
            .await
            .map_err(|e| match e {
                TelegramError::Refused {
                    code: 409,
                    description,
                } if description.contains("webhook") => PollError::WebhookSet,
                TelegramError::Refused {
                    code: 409,
                    description,
                } => PollError::OtherPoller(description),
                other => PollError::Telegram(other),
            })
    }

    /// Accepts `updates` in order, moving the offset past each one once it is queued. Stops at
    /// the first that cannot be queued, leaving it (and the rest) to be fetched again.
    pub async fn accept(&mut self, updates: Vec<Value>) -> Result<usize, PollError> {
        let mut accepted = 0;
        for update in updates {
            let Some(update_id) = update.get("update_id").and_then(Value::as_i64) else {
                // Cannot happen with Telegram; without an id there is no offset to move past it.
                tracing::error!("getUpdates returned an update without an integer update_id; skipped");
                continue;
            };
            let bytes = serde_json::to_vec(&update).expect("a JSON value serializes");
            match self.acceptor.accept(&bytes, Source::Polling).await {
                Ok(_) => accepted += 1,
                Err(AcceptError::Malformed(e)) => {
                    tracing::error!(update_id, error = %e, "unreadable update from getUpdates; skipped")
                }
                Err(source) => return Err(PollError::Queue { update_id, source }),
            }
            // Telegram sends ascending ids; max() keeps a stray lower one from re-opening the past.
            self.offset = Some(self.offset.map_or(update_id + 1, |o| o.max(update_id + 1)));
        }
        Ok(accepted)
    }

    /// Fetches one batch and accepts it. Returns how many updates were accepted.
    pub async fn poll_once(&mut self) -> Result<usize, PollError> {
        let updates = self.fetch().await?;
        self.accept(updates).await
    }
}

/// Runs a poller until shutdown, backing off on errors.
pub async fn run(settings: &Settings, acceptor: Acceptor, shutdown: Shutdown) -> anyhow::Result<()> {
    let bot = BotApi::new(&settings.telegram)?;
    let mut poller = Poller::new(bot.clone(), acceptor, &settings.polling);
    let max_backoff = Duration::from_secs(settings.polling.max_backoff_secs);
    let mut failures: u32 = 0;
    loop {
        // Abandoning a poll mid-way is safe: nothing past the last queued update is confirmed.
        let step = tokio::select! {
            _ = shutdown.cancelled() => break,
            step = poller.poll_once() => step,
        };
        let delay = match step {
            Ok(_) => {
                failures = 0;
                continue;
            }
            Err(PollError::WebhookSet) if settings.polling.delete_webhook => {
                tracing::warn!("a webhook is set; deleting it because polling.delete_webhook = true");
                match bot.delete_webhook(false).await {
                    Ok(()) => continue,
                    Err(e) => {
                        metrics::counter!(m::POLLING_ERRORS, "reason" => "delete_webhook").increment(1);
                        tracing::error!(error = %e, "deleteWebhook failed");
                        failures += 1;
                        backoff(failures, max_backoff)
                    }
                }
            }
            Err(PollError::WebhookSet) => return Err(anyhow::anyhow!(WEBHOOK_SET)),
            Err(e) => {
                failures += 1;
                let reason = match &e {
                    PollError::Queue { .. } => "queue",
                    PollError::OtherPoller(_) => "conflict",
                    _ => "telegram",
                };
                metrics::counter!(m::POLLING_ERRORS, "reason" => reason).increment(1);
                let delay = match &e {
                    PollError::Telegram(TelegramError::RetryAfter(after)) => *after,
                    _ => backoff(failures, max_backoff),
                };
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "polling failed; retrying");
                delay
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    tracing::info!("poller stopped");
    Ok(())
}

/// Exponential backoff from 500 ms, capped at `max`, with ±25 % jitter so replicas spread out.
fn backoff(failures: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1 << failures.min(16).saturating_sub(1));
    let capped = base.min(max);
    capped.mul_f64(rand::random_range(0.75..1.25))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let max = Duration::from_secs(30);
        assert!(backoff(1, max) <= Duration::from_millis(625));
        assert!(backoff(3, max) >= Duration::from_millis(1500));
        assert!(backoff(30, max) <= Duration::from_millis(37_500));
    }
}
