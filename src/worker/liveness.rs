//! What the worker tells operators about itself: a heartbeat every few seconds (who, how busy),
//! the per-process job gauges and counters, and the deployment-wide gauges a worker can see
//! (workers alive, conversations waiting).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use workers::Outcome;

use crate::{
    ops::{
        heartbeat::{self, Heartbeats, WorkerBeat},
        metrics as m,
    },
    shutdown::Shutdown,
};

/// Jobs running in this process; a guard per job keeps it right even when a job panics.
#[derive(Clone, Default)]
pub(crate) struct Busy(Arc<AtomicU64>);

/// Held while a job runs.
pub(crate) struct Running(Arc<AtomicU64>);

impl Busy {
    pub(crate) fn start(&self) -> Running {
        let now = self.0.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!(m::WORKER_BUSY).set(now as f64);
        Running(self.0.clone())
    }

    pub(crate) fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let now = self.0.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        metrics::gauge!(m::WORKER_BUSY).set(now as f64);
    }
}

/// Counts one handled job by kind and outcome (kinds come from code, never from input: an
/// unknown kind is counted as `unknown`).
pub(crate) fn count_job(kind: &str, outcome: &Outcome) {
    let kinds = crate::ops::series::job_kinds();
    let kind = kinds.into_iter().find(|k| *k == kind).unwrap_or("unknown");
    let outcome = match outcome {
        Outcome::Done => "done",
        Outcome::Retry(_) | Outcome::RetryAfter(..) => "retry",
        Outcome::Permanent(_) => "permanent",
    };
    metrics::counter!(m::WORKER_JOBS, "kind" => kind, "outcome" => outcome).increment(1);
}

impl super::Worker {
    /// Writes a heartbeat and refreshes the deployment gauges every [`heartbeat::EVERY`] until
    /// shutdown; then removes this worker from the list.
    pub(crate) async fn heartbeat_loop(self, beats: Heartbeats, slots: u64, shutdown: Shutdown) {
        metrics::gauge!(m::WORKER_SLOTS).set(slots as f64);
        loop {
            let now = heartbeat::now_ms();
            let beat = WorkerBeat {
                name: self.name.clone(),
                at_ms: now,
                busy: self.busy.now(),
                slots,
            };
            match beats.beat(&beat).await {
                Ok(()) => {
                    if let Ok(all) = beats.list().await {
                        let alive = all.iter().filter(|b| b.alive(now)).count();
                        metrics::gauge!(m::WORKERS_ALIVE).set(alive as f64);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot write the worker heartbeat"),
            }
            match self.conv.chats.waiting().await {
                Ok(n) => metrics::gauge!(m::CONVERSATIONS_ACTIVE).set(n as f64),
                Err(e) => tracing::debug!(error = %e, "cannot count waiting conversations"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(heartbeat::EVERY) => {}
            }
        }
        if let Err(e) = beats.forget(&self.name).await {
            tracing::debug!(error = %e, "cannot remove the worker heartbeat");
        }
    }
}
