//! The `dead_letter_mirror` job: brings `dead_letters` in Postgres up to date with the Redis
//! dead-letter queue. Attempts that dead-letter a job record it at once (`job_record`); this
//! catches the rest, above all jobs whose lease expired `max_attempts` times (no worker lived to
//! record those), and any row lost with a killed worker's memory. Rows are upserts by job id, so
//! mirroring again is harmless.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use workers::{Broker, Job, Outcome};

use crate::{
    store::batch::is_unavailable,
    worker::{
        Worker,
        job_record::{at, expired_attempt, mirrored_dead_letter},
    },
};

/// Dead letters compared with Postgres per round trip.
const CHUNK: usize = 500;

impl Worker {
    /// Records every dead letter that Postgres lacks, or holds with an earlier time of death.
    pub(super) async fn mirror_dead_letters(&self, _job: &Job) -> Result<Outcome, Outcome> {
        let retry = |e: &dyn std::fmt::Display| Outcome::Retry(e.to_string());
        let index = self.broker.dead_letter_index().await.map_err(|e| retry(&e))?;
        let mut mirrored = 0;
        for chunk in index.chunks(CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
            let known: HashMap<String, DateTime<Utc>> = match sqlx::query_as(
                "SELECT job_id, failed_at FROM dead_letters WHERE job_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(self.store.pool())
            .await
            {
                Ok(rows) => rows.into_iter().collect(),
                // The dead letters wait durably in Redis: the next period mirrors them. A
                // retry here would only pile this job up during an outage.
                Err(e) if is_unavailable(&e) => {
                    tracing::warn!(error = %e, "dead-letter mirror: Postgres unreachable; trying next period");
                    return Ok(Outcome::Done);
                }
                Err(e) => return Err(retry(&e)),
            };
            // The attempt's own row carries the end of the attempt; the queue's time of death
            // is a moment later, and is the one kept.
            let behind: Vec<String> = chunk
                .iter()
                .filter(|(id, dead_at_ms)| known.get(id).is_none_or(|failed| *failed < at(*dead_at_ms)))
                .map(|(id, _)| id.clone())
                .collect();
            if behind.is_empty() {
                continue;
            }
            for letter in self.broker.dead_letters(&behind).await.map_err(|e| retry(&e))? {
                if let Some(attempt) = expired_attempt(&letter) {
                    self.log.record(attempt).await;
                }
                self.log.record(mirrored_dead_letter(&letter)).await;
                mirrored += 1;
            }
        }
        if mirrored > 0 {
            tracing::info!(
                mirrored,
                dead_letters = index.len(),
                "dead letters mirrored to Postgres"
            );
        }
        Ok(Outcome::Done)
    }
}
