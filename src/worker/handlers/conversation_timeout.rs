//! `conversation_timeout`: one chat's deadline passed; the conversation times out unless it
//! moved on meanwhile.

use workers::{Job, Outcome};

use super::retry;
use crate::{
    conversation::Event,
    jobs::{Payload, Timeout},
    worker::Worker,
};

impl Worker {
    /// One chat's deadline passed: time the conversation out, unless it moved on meanwhile.
    pub(super) async fn time_out(&self, job: &Job) -> Result<Outcome, Outcome> {
        let Timeout { chat_id, deadline_ms } = Timeout::decode(job)?;
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
}
