//! `rate_limit_notice`: the ingress' polite "you are sending too fast" message, at most once per
//! window per user (the ingress decides when; this only sends it).

use serde_json::json;
use workers::{Job, Outcome};

use crate::{
    jobs::{Payload, RateLimitNotice},
    worker::Worker,
};

impl Worker {
    /// Sends the notice to the limited user's chat.
    pub(super) async fn send_notice(&self, job: &Job) -> Result<Outcome, Outcome> {
        let notice = RateLimitNotice::decode(job)?;
        let body = json!({ "chat_id": notice.chat_id, "text": notice.text });
        Ok(
            match self
                .call_logged(notice.chat_id, Some(notice.update_id), "sendMessage", &body)
                .await
            {
                Ok(()) => Outcome::Done,
                Err(e) => e.into(),
            },
        )
    }
}
