//! Failures made visible: every retry leaves a WARN line and every dead letter an ERROR line
//! (update_id, chat_id, kind, attempt, error class), and a user whose update is dead-lettered
//! gets one short apology while their conversation goes back to a safe state (idle).
//!
//! The apology is a job of its own (`dead_letter_apology`, lane `high`, keyed by the chat, with
//! an id derived from the update), queued from the attempt hook: it runs in the chat's order, is
//! retried like any reply, and its id makes it once per dead update even if the hook runs again.

use futures::future::BoxFuture;
use serde_json::{Value, json};
use workers::{Broker, Executed, Lane, NewJob, Outcome, RedisBroker, Settle};

use crate::{conversation::State, ops::metrics as m, telegram::TelegramError};

pub use crate::jobs::DEAD_LETTER_APOLOGY;
/// What the user reads.
pub const APOLOGY: &str = "Something went wrong with your last message; we have been notified. \
                           Anything you were in the middle of has been reset, so you can start again.";

/// The update and chat a job is about, from its payload: a Telegram update (also with the
/// ingress' stamp) or a job payload that names them (`update_id`, `chat_id`).
fn ids_of(kind: &str, payload: &[u8]) -> (Option<i64>, Option<i64>) {
    if kind == crate::jobs::TELEGRAM_UPDATE
        && let Ok(envelope) = serde_json::from_slice::<crate::telegram::Envelope>(payload)
    {
        return (Some(envelope.update_id), envelope.chat_id());
    }
    let value: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    (value["update_id"].as_i64(), value["chat_id"].as_i64())
}

/// The class of a failed attempt, as logs and dead letters name it.
fn attempt_class(executed: &Executed) -> &'static str {
    match &executed.outcome {
        _ if executed.panicked => "panic",
        Outcome::RetryAfter(..) => "retry_after",
        Outcome::Retry(_) => "retry",
        Outcome::Permanent(_) => "permanent",
        Outcome::Done => "none",
    }
}

/// Logs the attempt's failure, if any, once, here where the runtime has decided its fate.
pub(super) fn log_failure(executed: &Executed) {
    let job = &executed.job;
    let (update_id, chat_id) = ids_of(&job.kind, &job.payload);
    match &executed.settle {
        Settle::RetryAt { due_ms } => {
            let error = match &executed.outcome {
                Outcome::Retry(e) | Outcome::RetryAfter(_, e) | Outcome::Permanent(e) => e.as_str(),
                Outcome::Done => "",
            };
            tracing::warn!(
                job_id = %job.id,
                update_id,
                chat_id,
                kind = %job.kind,
                lane = job.lane.as_str(),
                attempt = job.attempts,
                error_class = attempt_class(executed),
                retry_in_ms = due_ms.saturating_sub(executed.finished_at_ms),
                error = %error,
                "job attempt failed; will retry"
            );
        }
        Settle::Dead { class, error } => tracing::error!(
            job_id = %job.id,
            update_id,
            chat_id,
            kind = %job.kind,
            lane = job.lane.as_str(),
            attempt = job.attempts,
            error_class = class.as_str(),
            error = %error,
            "job dead-lettered"
        ),
        // Waiting on a rate limit is not a failure: no attempt is used, nothing to warn about.
        Settle::DeferUntil { due_ms } => tracing::debug!(
            job_id = %job.id,
            update_id,
            chat_id,
            kind = %job.kind,
            wait_ms = due_ms.saturating_sub(executed.finished_at_ms),
            "job waits for a rate limit"
        ),
        Settle::Done | Settle::Release => {}
    }
}

/// The attempt hook's second half: logs failures, and queues the apology for a dead update.
pub(super) fn failure_hook(
    broker: RedisBroker,
) -> impl Fn(&Executed) -> BoxFuture<'static, ()> + Send + Sync + 'static {
    move |executed: &Executed| {
        log_failure(executed);
        let apology = apology_for(executed);
        let broker = broker.clone();
        Box::pin(async move {
            let Some(job) = apology else { return };
            if let Err(e) = broker.enqueue(job).await {
                metrics::counter!(m::DEAD_LETTER_APOLOGIES, "result" => "failed").increment(1);
                tracing::error!(error = %e, "cannot queue the apology for a dead-lettered update");
            }
        })
    }
}

/// The apology job for a dead-lettered Telegram update with a chat; `None` otherwise.
fn apology_for(executed: &Executed) -> Option<NewJob> {
    let job = &executed.job;
    if !matches!(executed.settle, Settle::Dead { .. }) || job.kind != crate::jobs::TELEGRAM_UPDATE {
        return None;
    }
    let (Some(update_id), Some(chat_id)) = ids_of(&job.kind, &job.payload) else {
        return None;
    };
    let payload = json!({ "update_id": update_id, "chat_id": chat_id });
    Some(
        NewJob::new(
            DEAD_LETTER_APOLOGY,
            Lane::High,
            chat_id.to_string(),
            payload.to_string(),
        )
        .with_id(format!("apology:{update_id}")),
    )
}

impl super::Worker {
    /// Resets the chat's conversation to idle, then sends the apology.
    pub(super) async fn handle_apology(&self, job: &workers::Job) -> Outcome {
        let (Some(update_id), Some(chat_id)) = ids_of(&job.kind, &job.payload) else {
            return Outcome::Permanent("apology payload lacks update_id or chat_id".into());
        };
        if let Err(e) = self.reset_conversation(chat_id, update_id).await {
            return Outcome::Retry(format!("cannot reset the conversation: {e:#}"));
        }
        let body = json!({ "chat_id": chat_id, "text": APOLOGY });
        match self
            .call_logged(chat_id, Some(update_id), "sendMessage", &body)
            .await
        {
            Ok(()) => {
                metrics::counter!(m::DEAD_LETTER_APOLOGIES, "result" => "sent").increment(1);
                Outcome::Done
            }
            Err(TelegramError::RetryAfter(after)) => Outcome::RetryAfter(after, "Telegram 429".into()),
            Err(e @ TelegramError::Transient(_)) => Outcome::Retry(e.to_string()),
            Err(e @ TelegramError::Refused { .. }) => {
                metrics::counter!(m::DEAD_LETTER_APOLOGIES, "result" => "failed").increment(1);
                Outcome::Permanent(e.to_string())
            }
        }
    }

    /// Puts the chat's conversation back to idle with nothing left to send, and disarms its timer.
    async fn reset_conversation(&self, chat_id: i64, update_id: i64) -> anyhow::Result<()> {
        let chats = &self.conv.chats;
        let event_id = format!("apology:{update_id}");
        for _ in 0..5 {
            let record = chats.load(chat_id).await?;
            if chats
                .save(chat_id, record.version, &State::Idle, &event_id, &[], 0)
                .await?
            {
                chats.disarm_timer(chat_id).await?;
                return Ok(());
            }
        }
        anyhow::bail!("the conversation kept changing under the reset")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use workers::{ErrorClass, Job};

    use super::*;

    /// Log lines written while `f` runs, as JSON objects.
    fn logs_of(f: impl FnOnce()) -> Vec<Value> {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn executed(outcome: Outcome, settle: Settle, attempts: u32) -> Executed {
        let payload = crate::telegram::stamp_receipt(
            br#"{"update_id":31,"message":{"text":"hi","chat":{"id":77},"from":{"id":77}}}"#,
            1,
        );
        Executed {
            job: Job {
                id: "31".into(),
                kind: crate::jobs::TELEGRAM_UPDATE.into(),
                lane: Lane::Normal,
                key: "77".into(),
                payload,
                attempts,
                enqueued_at_ms: 1,
                first_attempt_at_ms: 2,
                leased_at_ms: 3,
                replayed_from: vec![],
                token: 1,
            },
            outcome,
            panicked: false,
            settle,
            started_at_ms: 10,
            finished_at_ms: 20,
        }
    }

    #[test]
    fn a_retry_logs_a_warn_and_a_dead_letter_an_error_with_the_ids() {
        let retry = executed(Outcome::Retry("502".into()), Settle::RetryAt { due_ms: 1020 }, 2);
        let dead = executed(
            Outcome::Permanent("400".into()),
            Settle::Dead {
                class: ErrorClass::Permanent,
                error: "400".into(),
            },
            1,
        );
        let lines = logs_of(|| {
            log_failure(&retry);
            log_failure(&dead);
            log_failure(&executed(Outcome::Done, Settle::Done, 1));
        });
        assert_eq!(lines.len(), 2, "nothing for a success: {lines:?}");
        let (warn, error) = (&lines[0], &lines[1]);
        assert_eq!(warn["level"], "WARN");
        assert_eq!(error["level"], "ERROR");
        for (line, class, attempt) in [(warn, "retry", 2), (error, "permanent", 1)] {
            let f = &line["fields"];
            assert_eq!(f["update_id"], 31);
            assert_eq!(f["chat_id"], 77);
            assert_eq!(f["kind"], "telegram_update");
            assert_eq!(f["attempt"], attempt);
            assert_eq!(f["error_class"], class);
        }
        assert_eq!(warn["fields"]["retry_in_ms"], 1000);
    }

    #[test]
    fn only_a_dead_telegram_update_with_a_chat_gets_an_apology() {
        let dead = Settle::Dead {
            class: ErrorClass::RetriesExhausted,
            error: "502".into(),
        };
        let job = apology_for(&executed(Outcome::Retry("502".into()), dead.clone(), 5)).expect("an apology");
        assert_eq!(
            (job.kind.as_str(), job.lane, job.key.as_str(), job.id.as_deref()),
            (DEAD_LETTER_APOLOGY, Lane::High, "77", Some("apology:31"))
        );
        assert!(
            apology_for(&executed(
                Outcome::Retry("502".into()),
                Settle::RetryAt { due_ms: 30 },
                1
            ))
            .is_none()
        );
        let mut notice = executed(Outcome::Permanent("x".into()), dead, 1);
        notice.job.kind = crate::jobs::RATE_LIMIT_NOTICE.into();
        assert!(apology_for(&notice).is_none());
    }
}
