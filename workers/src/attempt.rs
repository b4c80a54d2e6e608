//! One attempt of one job: the handler under its deadline and its lease, panics caught, the
//! outcome turned into what the queue does with it, and the attempt hook told.

use std::{future::Future, panic::AssertUnwindSafe, time::Duration, time::Instant};

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::{Ack, AttemptHook, Broker, Executed, Job, Outcome, metrics, settle_for};

/// What bounds an attempt besides the handler itself.
pub(crate) struct Limits {
    /// The job kind's time limit; past it the handler is dropped and the attempt is a retry.
    pub(crate) deadline: Duration,
    /// Cancelled when a heartbeat learns the lease was lost (none when nothing heartbeats).
    pub(crate) lease_lost: Option<CancellationToken>,
    /// When the lease was taken, by the monotonic clock: the broker's "now" is the lease time
    /// plus the time since, never this host's wall clock.
    pub(crate) leased_at: Instant,
}

/// Runs one attempt. `None` when the lease was lost meanwhile: the handler was stopped and
/// nothing may be settled (the job belongs to whoever holds its lease now).
pub(crate) async fn run_job<B, H, Fut>(
    broker: &B,
    handler: &H,
    hook: Option<&AttemptHook>,
    job: Job,
    limits: Limits,
) -> Option<Executed>
where
    B: Broker,
    H: Fn(Job) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let clock = broker.clock();
    let started_at_ms = clock.since(job.leased_at_ms, limits.leased_at);
    metrics::record_start(
        job.lane,
        job.attempts,
        started_at_ms.saturating_sub(job.enqueued_at_ms),
    );
    let started = Instant::now();
    let attempt = std::panic::catch_unwind(AssertUnwindSafe(|| handler(job.clone())));
    let caught = async {
        match attempt {
            Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
            Err(panic) => Err(panic),
        }
    };
    let lost = async {
        match &limits.lease_lost {
            Some(token) => token.cancelled().await,
            None => futures::future::pending().await,
        }
    };
    let result = tokio::select! {
        result = tokio::time::timeout(limits.deadline, caught) => result,
        () = lost => {
            tracing::warn!(job_id = %job.id, key = %job.key, "lease lost while running; handler stopped, its result discarded");
            return None;
        }
    };
    let (outcome, panicked) = match result {
        Ok(Ok(outcome)) => (outcome, false),
        Ok(Err(panic)) => {
            let text = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-text panic payload".to_owned());
            tracing::error!(job_id = %job.id, key = %job.key, panic = %text, "job panicked");
            (Outcome::Retry(format!("panic: {text}")), true)
        }
        Err(_elapsed) => {
            // The handler future is dropped here, which cancels whatever it was awaiting.
            tracing::warn!(job_id = %job.id, key = %job.key, kind = %job.kind, deadline = ?limits.deadline, "job passed its deadline; cancelled, will retry");
            let text = format!("deadline: ran longer than {} ms", limits.deadline.as_millis());
            (Outcome::Retry(text), false)
        }
    };
    let finished_at_ms = clock.since(job.leased_at_ms, limits.leased_at);
    let settle = settle_for(
        &job,
        &outcome,
        panicked,
        broker.config(),
        finished_at_ms,
        &mut rand::rng(),
    );
    metrics::record_end(job.lane, started.elapsed().as_secs_f64(), &settle);
    let executed = Executed {
        job,
        outcome,
        panicked,
        settle,
        started_at_ms,
        finished_at_ms,
    };
    if let Some(hook) = hook {
        tell(hook, &executed).await;
    }
    Some(executed)
}

/// Calls the hook with its panics caught: a panicking hook must not leave the job unacknowledged
/// (its task would end without an ack, and its lease would be renewed forever).
async fn tell(hook: &AttemptHook, executed: &Executed) {
    let told = match std::panic::catch_unwind(AssertUnwindSafe(|| hook(executed))) {
        Ok(future) => AssertUnwindSafe(future).catch_unwind().await,
        Err(panic) => Err(panic),
    };
    if told.is_err() {
        tracing::error!(job_id = %executed.job.id, "attempt hook panicked; the attempt is acknowledged anyway");
    }
}

pub(crate) fn ack_of(executed: &Executed) -> Ack {
    Ack {
        key: executed.job.key.clone(),
        token: executed.job.token,
        settle: executed.settle.clone(),
    }
}
