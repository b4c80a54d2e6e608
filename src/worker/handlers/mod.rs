//! The handler of each job kind in the catalogue ([`crate::jobs`]), one file each, and the one
//! place that registers them: [`Worker::dispatch`]. Adding a kind to [`Kind`] makes the match
//! below fail to compile until its handler is registered here.

mod alert_monitor;
mod alert_notify;
mod conversation_timeout;
mod data_collector;
mod dead_letter_mirror;
mod rate_limit_notice;
mod retention;
mod telegram_update;
mod timeout_sweep;

use workers::{Job, Outcome};

use super::Worker;
use crate::jobs::Kind;

/// A transient failure of Redis or Postgres: the job is retried with backoff.
fn retry(e: impl std::fmt::Display) -> Outcome {
    Outcome::Retry(e.to_string())
}

impl Worker {
    /// Runs `job` with the handler registered for its kind; an unknown kind is a permanent failure.
    pub(super) async fn dispatch(&self, job: &Job) -> Outcome {
        let Some(kind) = Kind::parse(&job.kind) else {
            return Outcome::Permanent(format!(
                "unknown job kind {:?}: no handler is registered for it (see src/jobs.rs)",
                job.kind
            ));
        };
        let result = match kind {
            Kind::TelegramUpdate => Ok(self.handle_update(job).await),
            Kind::RateLimitNotice => self.send_notice(job).await,
            Kind::TimeoutSweep => self.sweep_timeouts(job).await,
            Kind::ConversationTimeout => self.time_out(job).await,
            Kind::AlertMonitor => self.monitor_alerts(job).await,
            Kind::AlertNotify => self.notify_alert(job).await,
            Kind::DataCollector => self.collect_prices(job).await,
            Kind::Retention => self.run_retention(job).await,
            Kind::DeadLetterMirror => self.mirror_dead_letters(job).await,
        };
        result.unwrap_or_else(|outcome| outcome)
    }
}
