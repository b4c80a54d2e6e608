//! `data_collector`: records a quote per watched symbol in `price_history`.

use std::collections::BTreeSet;

use workers::{Job, Outcome};

use super::retry;
use crate::{
    integrations::PricePoint,
    store::{alerts, prices},
    worker::Worker,
};

impl Worker {
    /// Records a quote per watched symbol (the watchlist plus alerted symbols).
    pub(super) async fn collect_prices(&self, _job: &Job) -> Result<Outcome, Outcome> {
        let pool = self.store.pool();
        let mut symbols: BTreeSet<String> = self.conv.watchlist.iter().cloned().collect();
        symbols.extend(alerts::watched_symbols(pool).await.map_err(retry)?);
        let mut recorded = 0;
        for symbol in &symbols {
            match self.conv.integrations.quote(symbol).await {
                Ok(q) => {
                    let point = PricePoint {
                        at: q.at,
                        price: q.price,
                        volume: q.volume,
                    };
                    prices::record(pool, symbol, &[point]).await.map_err(retry)?;
                    recorded += 1;
                }
                Err(e) => tracing::warn!(symbol, error = %e, "data collector cannot quote"),
            }
        }
        tracing::info!(recorded, watched = symbols.len(), "prices collected");
        Ok(Outcome::Done)
    }
}
