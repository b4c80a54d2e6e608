//! `alert_notify`: tells one chat that its alert fired, in order with the chat's updates.

use serde_json::json;
use workers::{Job, Outcome};

use crate::{
    conversation::{Direction, money},
    jobs::{AlertFired, Payload},
    worker::Worker,
};

impl Worker {
    /// Sends the alert's notification.
    pub(super) async fn notify_alert(&self, job: &Job) -> Result<Outcome, Outcome> {
        let fired = AlertFired::decode(job)?;
        let direction = fired.direction.parse().unwrap_or(Direction::Above);
        let text = format!(
            "🔔 {} is {} your alert ({}): now {}.\nThis alert is now off; re-arm it from /alerts.",
            fired.label.split_whitespace().next().unwrap_or_default(),
            direction.as_str(),
            fired.label,
            money(fired.price)
        );
        let body = json!({ "chat_id": fired.chat_id, "text": text });
        Ok(
            match self.call_logged(fired.chat_id, None, "sendMessage", &body).await {
                Ok(()) => Outcome::Done,
                Err(e) => e.into(),
            },
        )
    }
}
