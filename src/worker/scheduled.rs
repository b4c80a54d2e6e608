//! Handlers of the scheduler's jobs: timeout sweep and per-chat timeouts, alert monitor and
//! notifications, data collector, retention.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::json;
use workers::{Broker, Enqueued, Job, Lane, NewJob, Outcome};

use super::Worker;
use crate::{
    conversation::{Direction, Event, money},
    integrations::PricePoint,
    scheduler::jobs::{self, AlertFired, Tick, Timeout},
    store::{alerts, prices},
    telegram::TelegramError,
};

/// Timers handled per sweep; the rest wait for the next sweep (bounded work per job).
const SWEEP_BATCH: usize = 500;

fn payload<T: DeserializeOwned>(job: &Job) -> Result<T, Outcome> {
    serde_json::from_slice(&job.payload)
        .map_err(|e| Outcome::Permanent(format!("bad {} payload: {e}", job.kind)))
}

fn retry(e: impl std::fmt::Display) -> Outcome {
    Outcome::Retry(e.to_string())
}

/// A Postgres failure in a periodic job (alert monitor, data collector, retention): while Postgres
/// is unreachable the tick is skipped, done, with a warning; the next tick tries again. Retrying
/// it would only fill the dead-letter queue with ticks during an outage. Other errors retry.
fn skip_tick_if_unavailable(job: &Job) -> impl Fn(sqlx::Error) -> Outcome + '_ {
    move |e| {
        if crate::store::failure::classify(&e) == crate::store::failure::Failure::Unavailable {
            tracing::warn!(kind = %job.kind, error = %e, "Postgres unreachable; skipping this tick, the next one tries again");
            Outcome::Done
        } else {
            retry(e)
        }
    }
}

fn classify(result: Result<(), TelegramError>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(TelegramError::RetryAfter(after)) => Outcome::RetryAfter(after, "Telegram 429".into()),
        Err(e @ TelegramError::Transient(_)) => Outcome::Retry(e.to_string()),
        Err(e @ TelegramError::Refused { .. }) => Outcome::Permanent(e.to_string()),
    }
}

impl Worker {
    /// Runs a scheduler job; `None` when `job.kind` is not one.
    pub(super) async fn handle_scheduled(&self, job: &Job) -> Option<Outcome> {
        let outcome = match job.kind.as_str() {
            jobs::TIMEOUT_SWEEP => self.sweep_timeouts(job).await,
            jobs::CONVERSATION_TIMEOUT => self.time_out(job).await,
            jobs::ALERT_MONITOR => self.monitor_alerts(job).await,
            jobs::ALERT_NOTIFY => self.notify_alert(job).await,
            jobs::DATA_COLLECTOR => self.collect_prices(job).await,
            jobs::RETENTION => self.run_retention(job).await,
            jobs::DEAD_LETTER_MIRROR => self.mirror_dead_letters(job).await,
            _ => return None,
        };
        Some(outcome.unwrap_or_else(|o| o))
    }

    /// Fans due timers out to per-chat jobs, ordered with the chat's updates.
    async fn sweep_timeouts(&self, job: &Job) -> Result<Outcome, Outcome> {
        let Tick { at_ms } = payload(job)?;
        let due = self.conv.chats.due(at_ms, SWEEP_BATCH).await.map_err(retry)?;
        for (chat_id, deadline_ms) in due {
            let body = serde_json::to_vec(&Timeout { chat_id, deadline_ms }).map_err(retry)?;
            let timeout = NewJob::new(
                jobs::CONVERSATION_TIMEOUT,
                Lane::Normal,
                chat_id.to_string(),
                body,
            )
            .with_id(format!("timeout:{chat_id}:{deadline_ms}"));
            self.broker.enqueue(timeout).await.map_err(retry)?;
            // Only after the job is queued: a crash in between re-enqueues, and the id dedupes.
            self.conv
                .chats
                .disarm_timer_if(chat_id, deadline_ms)
                .await
                .map_err(retry)?;
        }
        Ok(Outcome::Done)
    }

    /// One chat's deadline passed: time the conversation out, unless it moved on meanwhile.
    async fn time_out(&self, job: &Job) -> Result<Outcome, Outcome> {
        let Timeout { chat_id, deadline_ms } = payload(job)?;
        let record = self.conv.chats.load(chat_id).await.map_err(retry)?;
        if record.deadline_ms != deadline_ms || !record.state.is_waiting() {
            tracing::debug!(chat_id, "stale conversation timer; the conversation moved on");
            return Ok(Outcome::Done);
        }
        let event = Event::TimedOut {
            after_secs: self.conv.timeout_secs,
        };
        Ok(self
            .converse(chat_id, &format!("timeout:{deadline_ms}"), event, None)
            .await)
    }

    /// Quotes every alerted symbol once and fires crossed alerts: each notifies exactly once per
    /// arming (the notification's job id is the alert's id and generation), then stays off.
    async fn monitor_alerts(&self, job: &Job) -> Result<Outcome, Outcome> {
        let armed = alerts::armed(self.store.pool())
            .await
            .map_err(skip_tick_if_unavailable(job))?;
        let symbols: BTreeSet<&str> = armed.iter().map(|a| a.alert.symbol.as_str()).collect();
        for symbol in symbols {
            let quote = match self.conv.integrations.quote(symbol).await {
                Ok(quote) => quote,
                Err(e) => {
                    // The next minute tries again; one bad symbol must not hold up the others.
                    tracing::warn!(symbol, error = %e, "alert monitor cannot quote");
                    continue;
                }
            };
            for armed in armed.iter().filter(|a| a.alert.symbol == symbol) {
                let alert = &armed.alert;
                if !alert.direction.crossed(quote.price, alert.price) {
                    continue;
                }
                let fired = AlertFired {
                    chat_id: armed.chat_id,
                    alert_id: alert.id,
                    label: alert.label(),
                    price: quote.price,
                    direction: alert.direction.as_str().into(),
                };
                let body = serde_json::to_vec(&fired).map_err(retry)?;
                let notify = NewJob::new(jobs::ALERT_NOTIFY, Lane::Normal, armed.chat_id.to_string(), body)
                    .with_id(format!("alert:{}:g{}", alert.id, armed.generation));
                if let Enqueued::Duplicate = self.broker.enqueue(notify).await.map_err(retry)? {
                    tracing::debug!(alert_id = alert.id, "alert notification already queued");
                }
                // Skipped while Postgres is down: the next tick finds the alert armed again and
                // its notification's id dedupes, then disarms it.
                alerts::disarm(self.store.pool(), alert.id, armed.generation, quote.price)
                    .await
                    .map_err(skip_tick_if_unavailable(job))?;
            }
        }
        Ok(Outcome::Done)
    }

    async fn notify_alert(&self, job: &Job) -> Result<Outcome, Outcome> {
        let fired: AlertFired = payload(job)?;
        let direction = fired.direction.parse().unwrap_or(Direction::Above);
        let text = format!(
            "🔔 {} is {} your alert ({}): now {}.\nThis alert is now off; re-arm it from /alerts.",
            fired.label.split_whitespace().next().unwrap_or_default(),
            direction.as_str(),
            fired.label,
            money(fired.price)
        );
        let body = json!({ "chat_id": fired.chat_id, "text": text });
        Ok(classify(
            self.call_logged(fired.chat_id, None, "sendMessage", &body).await,
        ))
    }

    /// Records a quote per watched symbol (the watchlist plus alerted symbols).
    async fn collect_prices(&self, job: &Job) -> Result<Outcome, Outcome> {
        let pool = self.store.pool();
        let mut symbols: BTreeSet<String> = self.conv.watchlist.iter().cloned().collect();
        symbols.extend(
            alerts::watched_symbols(pool)
                .await
                .map_err(skip_tick_if_unavailable(job))?,
        );
        let mut recorded = 0;
        for symbol in &symbols {
            match self.conv.integrations.quote(symbol).await {
                Ok(q) => {
                    let point = PricePoint {
                        at: q.at,
                        price: q.price,
                        volume: q.volume,
                    };
                    prices::record(pool, symbol, &[point])
                        .await
                        .map_err(skip_tick_if_unavailable(job))?;
                    recorded += 1;
                }
                Err(e) => tracing::warn!(symbol, error = %e, "data collector cannot quote"),
            }
        }
        tracing::info!(recorded, watched = symbols.len(), "prices collected");
        Ok(Outcome::Done)
    }

    /// Retention clean-up of the log tables. The retention function belongs to the Postgres
    /// store (issue 5): LEAD, wire its call here, e.g. `self.store.apply_retention().await`.
    /// Deletes rows past each table's retention period, as of the tick that asked for it.
    async fn run_retention(&self, job: &Job) -> Result<Outcome, Outcome> {
        let Tick { at_ms } = payload(job)?;
        let now = chrono::DateTime::from_timestamp_millis(at_ms as i64).unwrap_or_else(chrono::Utc::now);
        let report = crate::store::retention::run(self.store.pool(), &self.retention, now)
            .await
            .map_err(skip_tick_if_unavailable(job))?;
        tracing::info!(deleted = ?report.deleted, "retention applied");
        Ok(Outcome::Done)
    }
}
