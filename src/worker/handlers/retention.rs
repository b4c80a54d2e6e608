//! `retention`: deletes log rows past each table's retention period.

use workers::{Job, Outcome};

use super::retry;
use crate::{jobs::Tick, worker::Worker};

impl Worker {
    /// Retention clean-up of the log tables. The retention function belongs to the Postgres
    /// store (issue 5): LEAD, wire its call here, e.g. `self.store.apply_retention().await`.
    /// Deletes rows past each table's retention period, as of the tick that asked for it.
    pub(super) async fn run_retention(&self, job: &Job) -> Result<Outcome, Outcome> {
        let Tick { at_ms } = Tick::decode(job)?;
        let now = chrono::DateTime::from_timestamp_millis(at_ms as i64).unwrap_or_else(chrono::Utc::now);
        let report = crate::store::retention::run(self.store.pool(), &self.retention, now)
            .await
            .map_err(retry)?;
        tracing::info!(deleted = ?report.deleted, "retention applied");
        Ok(Outcome::Done)
    }
}
