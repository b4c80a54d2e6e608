//! `telegram_update`: one update from the ingress. Decoded once into an [`Inbound`] that the
//! span, the sender's row, the conversation and the `message_log` row all read.

use chrono::{DateTime, Utc};
use workers::{Job, Outcome};

use crate::{
    store::{MessageLogRow, UserSeen},
    telegram::Inbound,
    worker::Worker,
};

impl Worker {
    /// Runs the chat's conversation on the update and records it in `message_log`.
    pub(super) async fn handle_update(&self, job: &Job) -> Outcome {
        let started_at = Utc::now();
        let inbound = match Inbound::decode(&job.payload) {
            Ok(inbound) => inbound,
            Err(e) => return Outcome::Permanent(e),
        };
        let envelope = inbound.envelope();
        let span = tracing::Span::current();
        span.record("update_id", envelope.update_id);
        span.record("chat_id", envelope.chat_id());
        if let Some(user) = envelope
            .sender()
            .and_then(|from| UserSeen::from_sender(from, started_at))
        {
            self.log.record(user).await;
        }
        // The user wrote, so they can be written to again: lift an "unreachable" mark.
        if envelope.kind() == "message"
            && let Some(chat_id) = envelope.chat_id()
            && let Err(e) = self.outbound.limiter().clear_blocked(chat_id).await
        {
            tracing::warn!(error = %e, "cannot clear the chat's unreachable mark");
        }
        let outcome = self.converse_update(&inbound).await;
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
                command: envelope.command().map(|c| c.name),
                received_at: enqueued_at.unwrap_or(started_at),
                enqueued_at,
                started_at,
                finished_at: Some(Utc::now()),
                outcome: Some(label.to_owned()),
                error,
                attempts: job.attempts as i32,
                worker: self.name.clone(),
                raw: envelope.to_value(),
            })
            .await;
        outcome
    }
}
