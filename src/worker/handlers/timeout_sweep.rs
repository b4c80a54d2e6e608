//! `conversation_timeout_sweep`: fans due conversation timers out to per-chat timeout jobs.

use workers::{Broker, Job, Lane, Outcome};

use super::retry;
use crate::{
    jobs::{Payload, Tick, Timeout},
    worker::Worker,
};

/// Timers handled per sweep; the rest wait for the next sweep (bounded work per job).
const SWEEP_BATCH: usize = 500;

impl Worker {
    /// Fans due timers out to per-chat jobs, ordered with the chat's updates.
    pub(super) async fn sweep_timeouts(&self, job: &Job) -> Result<Outcome, Outcome> {
        let Tick { at_ms } = Tick::decode(job)?;
        let due = self.conv.chats.due(at_ms, SWEEP_BATCH).await.map_err(retry)?;
        for (chat_id, deadline_ms) in due {
            let timeout = Timeout { chat_id, deadline_ms }
                .job(Lane::Normal, chat_id.to_string())
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
}
