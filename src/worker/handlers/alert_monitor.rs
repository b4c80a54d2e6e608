//! `alert_monitor`: quotes every alerted symbol once and queues a notification per crossed alert.

use std::collections::BTreeSet;

use workers::{Broker, Enqueued, Job, Lane, Outcome};

use super::retry;
use crate::{
    jobs::{AlertFired, Payload},
    store::alerts,
    worker::Worker,
};

impl Worker {
    /// Quotes every alerted symbol once and fires crossed alerts: each notifies exactly once per
    /// arming (the notification's job id is the alert's id and generation), then stays off.
    pub(super) async fn monitor_alerts(&self, _job: &Job) -> Result<Outcome, Outcome> {
        let armed = alerts::armed(self.store.pool()).await.map_err(retry)?;
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
                let notify = fired
                    .job(Lane::Normal, armed.chat_id.to_string())
                    .with_id(format!("alert:{}:g{}", alert.id, armed.generation));
                if let Enqueued::Duplicate = self.broker.enqueue(notify).await.map_err(retry)? {
                    tracing::debug!(alert_id = alert.id, "alert notification already queued");
                }
                alerts::disarm(self.store.pool(), alert.id, armed.generation, quote.price)
                    .await
                    .map_err(retry)?;
            }
        }
        Ok(Outcome::Done)
    }
}
