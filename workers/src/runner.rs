//! The consumer: leases jobs in batches, runs them on a handler with bounded concurrency,
//! renews leases by heartbeat (stopping a handler whose lease was lost), and acknowledges in
//! batches. One attempt (deadline, panics, settle decision) is `attempt.rs`.
//!
//! Tests step it with [`Runner::try_execute`] and [`Runner::run_pending`] instead of sleeping.
//! An optional [`AttemptHook`] is told of every finished attempt, so an application can keep its
//! own record of attempts without this crate knowing where that record lives.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::{
    Ack, Broker, BrokerError, Job, Outcome, Settle,
    attempt::{Limits, ack_of, run_job},
    metrics,
};

/// The leases a runner holds, by token: each lease's key and the switch that stops its handler.
/// Per lease, not per key, so a late task of a lost lease cannot touch its successor's entry.
type InFlight = Arc<Mutex<HashMap<u64, (String, CancellationToken)>>>;

/// Longest an idle consumer waits with nothing due. Wake tokens end the wait at once when work
/// arrives, so this only bounds how long a lost token could delay pickup.
const IDLE_WAIT: Duration = Duration::from_secs(5);
/// Longest a backlogged runner waits for more free slots to lease them in one round trip.
const BACKLOG_LINGER: Duration = Duration::from_millis(2);
/// Pause after a backend error before trying again.
const ERROR_PAUSE: Duration = Duration::from_millis(500);

/// One attempt: what ran, how it ended and what the queue does with it.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The job as leased.
    pub job: Job,
    /// What the handler returned (a panic shows as `Retry("panic: …")`).
    pub outcome: Outcome,
    /// Whether the handler panicked.
    pub panicked: bool,
    /// What the queue is told to do with it. The ack may still be refused as stale if the lease
    /// was lost meanwhile; then the job runs again elsewhere.
    pub settle: Settle,
    /// When the handler started, ms since the epoch (the broker's clock).
    pub started_at_ms: u64,
    /// When the handler ended, ms since the epoch (the broker's clock).
    pub finished_at_ms: u64,
}

/// Told of every attempt a runner finishes, before the attempt is acknowledged.
///
/// The returned future is awaited in the job's own task while its lease is still renewed, so a
/// hook that waits holds the job's slot (back-pressure) rather than losing the attempt. Keep it
/// quick: it runs once per job. Jobs released unfinished at shutdown are not attempts.
pub type AttemptHook = Arc<dyn Fn(&Executed) -> BoxFuture<'static, ()> + Send + Sync>;

/// Runs jobs from a broker on a handler.
pub struct Runner<B, H> {
    broker: B,
    handler: Arc<H>,
    concurrency: usize,
    grace: Duration,
    stats_interval: Duration,
    on_attempt: Option<AttemptHook>,
    timeouts: HashMap<String, Duration>,
}

impl<B, H, Fut> Runner<B, H>
where
    B: Broker,
    H: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    /// A runner of `handler` over `broker`, 16 jobs at a time.
    pub fn new(broker: B, handler: H) -> Self {
        Self {
            broker,
            handler: Arc::new(handler),
            concurrency: 16,
            grace: Duration::from_secs(10),
            stats_interval: Duration::from_secs(5),
            on_attempt: None,
            timeouts: HashMap::new(),
        }
    }

    /// Gives jobs of `kind` their own time limit instead of the queue's `job_timeout`.
    pub fn job_timeout(mut self, kind: impl Into<String>, limit: Duration) -> Self {
        self.timeouts.insert(kind.into(), limit);
        self
    }

    /// The time limit of a job of `kind`.
    pub fn timeout_of(&self, kind: &str) -> Duration {
        self.timeouts
            .get(kind)
            .copied()
            .unwrap_or(self.broker.config().job_timeout)
    }

    /// Calls `hook` after every attempt, before it is acknowledged (see [`AttemptHook`]).
    /// Without a hook a job costs nothing extra.
    pub fn on_attempt(
        mut self,
        hook: impl Fn(&Executed) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Self {
        self.on_attempt = Some(Arc::new(hook));
        self
    }

    /// Jobs run at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How long running jobs may finish after shutdown before their leases are released.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How often queue depth and ages are sampled into metrics.
    pub fn stats_interval(mut self, every: Duration) -> Self {
        self.stats_interval = every;
        self
    }

    /// The broker this runner leases from.
    pub fn broker(&self) -> &B {
        &self.broker
    }

    /// Leases one job if one is ready, runs it and settles it. Never waits for work.
    pub async fn try_execute(&self) -> Result<Option<Executed>, BrokerError> {
        let leased = self.broker.lease(1).await?;
        let leased_at = Instant::now();
        metrics::record_lease_deaths(leased.dead_lettered);
        let Some(job) = leased.jobs.into_iter().next() else {
            return Ok(None);
        };
        let executed = self.run_one(job, leased_at).await;
        let stale = self.settle_all(vec![ack_of(&executed)]).await?;
        metrics::record_stale(stale);
        Ok(Some(executed))
    }

    /// Runs every job ready now (and those its jobs make ready), `concurrency` at a time, until
    /// a lease comes back empty. Returns what ran, in completion order per batch.
    pub async fn run_pending(&self) -> Result<Vec<Executed>, BrokerError> {
        let mut all = Vec::new();
        loop {
            let leased = self.broker.lease(self.concurrency).await?;
            let leased_at = Instant::now();
            metrics::record_lease_deaths(leased.dead_lettered);
            if leased.jobs.is_empty() {
                return Ok(all);
            }
            let batch =
                futures::future::join_all(leased.jobs.into_iter().map(|j| self.run_one(j, leased_at))).await;
            let stale = self.settle_all(batch.iter().map(ack_of).collect()).await?;
            metrics::record_stale(stale);
            all.extend(batch);
        }
    }

    async fn settle_all(&self, acks: Vec<Ack>) -> Result<usize, BrokerError> {
        let applied = self.broker.settle(acks).await?;
        Ok(applied.iter().filter(|ok| !**ok).count())
    }

    /// Runs one attempt without heartbeats (stepping in tests), so its lease cannot be lost.
    async fn run_one(&self, job: Job, leased_at: Instant) -> Executed {
        let limits = Limits {
            deadline: self.timeout_of(&job.kind),
            lease_lost: None,
            leased_at,
        };
        run_job(
            &self.broker,
            &*self.handler,
            self.on_attempt.as_ref(),
            job,
            limits,
        )
        .await
        .expect("an attempt without a lease watch always ends")
    }

    /// Runs until `shutdown` resolves: leases in batches, runs up to `concurrency` jobs at once,
    /// heartbeats their leases and settles them in batches. On shutdown, running jobs get the
    /// grace period; jobs still running after it are released back to their lane.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), BrokerError> {
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            trigger.cancel();
        });
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let in_flight: InFlight = Arc::default();
        let (acks, ack_rx) = mpsc::unbounded_channel::<Ack>();
        let acker = tokio::spawn(ack_loop(self.broker.clone(), ack_rx));
        let background = CancellationToken::new();
        let heartbeat = tokio::spawn(heartbeat_loop(
            self.broker.clone(),
            in_flight.clone(),
            background.clone(),
        ));
        let sampler = tokio::spawn(stats_loop(
            self.broker.clone(),
            self.stats_interval,
            background.clone(),
        ));
        let mut jobs = tokio::task::JoinSet::new();
        let batch = self.broker.config().batch_size;

        // While the queue is backlogged, linger briefly for all slots to free up before
        // leasing again: one round trip then serves several jobs, which is what keeps Redis
        // commands and CPU per job low. The linger is short so slow jobs do not leave slots
        // idle. When the queue is not backlogged, lease as soon as one slot is free, so a lone
        // job starts at once.
        let backlog_batch = self.concurrency.clamp(1, batch);
        let mut backlogged = false;
        'fetch: while !stop.is_cancelled() {
            let mut held = Vec::with_capacity(batch);
            tokio::select! {
                permit = permits.clone().acquire_owned() => held.push(permit.expect("semaphore never closed")),
                _ = stop.cancelled() => break 'fetch,
            }
            if backlogged {
                let linger = tokio::time::Instant::now() + BACKLOG_LINGER;
                while held.len() < backlog_batch {
                    match tokio::time::timeout_at(linger, permits.clone().acquire_owned()).await {
                        Ok(permit) => held.push(permit.expect("semaphore never closed")),
                        Err(_) => break,
                    }
                }
            }
            while held.len() < batch {
                match permits.clone().try_acquire_owned() {
                    Ok(p) => held.push(p),
                    Err(_) => break,
                }
            }
            let leased = match self.broker.lease(held.len()).await {
                Ok(leased) => leased,
                Err(e) => {
                    tracing::warn!(error = %e, "lease failed; retrying");
                    drop(held);
                    pause(ERROR_PAUSE, &stop).await;
                    continue;
                }
            };
            let leased_at = Instant::now();
            metrics::record_lease_deaths(leased.dead_lettered);
            backlogged = leased.jobs.len() == held.len();
            if leased.jobs.is_empty() {
                drop(held);
                // Both times are the broker's, so a host clock that is off does not skew the wait.
                let now = leased.now_ms;
                let wait = leased
                    .next_wake_ms
                    .map(|at| Duration::from_millis(at.saturating_sub(now)))
                    .unwrap_or(IDLE_WAIT)
                    .min(IDLE_WAIT);
                if wait.is_zero() {
                    continue;
                }
                tokio::select! {
                    result = self.broker.wait_for_work(wait) => if let Err(e) = result {
                        tracing::warn!(error = %e, "waiting for work failed; retrying");
                        pause(ERROR_PAUSE, &stop).await;
                    },
                    _ = stop.cancelled() => break,
                }
                continue;
            }
            for job in leased.jobs {
                let permit = held.pop().expect("leased at most as many jobs as permits");
                let lost = CancellationToken::new();
                in_flight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(job.token, (job.key.clone(), lost.clone()));
                let limits = Limits {
                    deadline: self.timeout_of(&job.kind),
                    lease_lost: Some(lost),
                    leased_at,
                };
                let (broker, handler, hook, acks, in_flight) = (
                    self.broker.clone(),
                    self.handler.clone(),
                    self.on_attempt.clone(),
                    acks.clone(),
                    in_flight.clone(),
                );
                jobs.spawn(async move {
                    let token = job.token;
                    // The lease leaves `in_flight` (no more heartbeats) only after the hook is
                    // done. A lost lease is not settled: the job is someone else's now.
                    let executed = run_job(&broker, &*handler, hook.as_ref(), job, limits).await;
                    in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&token);
                    if let Some(executed) = executed {
                        let _ = acks.send(ack_of(&executed));
                    }
                    drop(permit);
                });
            }
            while jobs.try_join_next().is_some() {}
        }

        let graceful =
            tokio::time::timeout(self.grace, async { while jobs.join_next().await.is_some() {} }).await;
        if graceful.is_err() {
            jobs.abort_all();
            while jobs.join_next().await.is_some() {}
            let unfinished: Vec<Ack> = in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .drain()
                .map(|(token, (key, _))| Ack {
                    key,
                    token,
                    settle: Settle::Release,
                })
                .collect();
            tracing::warn!(
                count = unfinished.len(),
                "grace period over; releasing running jobs"
            );
            for ack in unfinished {
                let _ = acks.send(ack);
            }
        }
        drop(acks);
        let _ = acker.await;
        background.cancel();
        let _ = heartbeat.await;
        let _ = sampler.await;
        Ok(())
    }
}

/// Settles acks in batches: whatever has queued up while the previous batch was in flight.
async fn ack_loop<B: Broker>(broker: B, mut rx: mpsc::UnboundedReceiver<Ack>) {
    let batch = broker.config().batch_size;
    while let Some(first) = rx.recv().await {
        let mut acks = vec![first];
        while acks.len() < batch {
            match rx.try_recv() {
                Ok(ack) => acks.push(ack),
                Err(_) => break,
            }
        }
        if acks.len() > 1 {
            // Acks are arriving in bursts (a busy runner): linger a moment so one round trip
            // settles more of them. A lone ack (a quiet queue) goes out at once.
            let linger = tokio::time::Instant::now() + BACKLOG_LINGER / 2;
            while acks.len() < batch {
                match tokio::time::timeout_at(linger, rx.recv()).await {
                    Ok(Some(ack)) => acks.push(ack),
                    _ => break,
                }
            }
        }
        // Keep trying: an ack lost here only means the job runs again after its lease expires,
        // but a short Redis blip should not cause that.
        let mut delay = Duration::from_millis(50);
        for attempt in 1.. {
            match broker.settle(acks.clone()).await {
                Ok(applied) => {
                    metrics::record_stale(applied.iter().filter(|ok| !**ok).count());
                    break;
                }
                Err(e) if attempt < 20 => {
                    tracing::warn!(error = %e, attempt, "settling jobs failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                Err(e) => {
                    tracing::error!(error = %e, count = acks.len(), "cannot settle jobs; their leases will expire and they will run again");
                    break;
                }
            }
        }
    }
}

async fn heartbeat_loop<B: Broker>(broker: B, in_flight: InFlight, stop: CancellationToken) {
    let every = broker.config().heartbeat_interval;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        let leases: Vec<(String, u64)> = in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(token, (key, _))| (key.clone(), *token))
            .collect();
        if leases.is_empty() {
            continue;
        }
        match broker.heartbeat(&leases).await {
            Ok(held) => {
                let mut map = in_flight.lock().unwrap_or_else(|e| e.into_inner());
                let mut lost = 0;
                for ((_, token), held) in leases.iter().zip(held) {
                    if !held && let Some((_, stop_handler)) = map.remove(token) {
                        // Someone else may run this job (or its key's next) now: stop ours.
                        stop_handler.cancel();
                        lost += 1;
                    }
                }
                if lost > 0 {
                    metrics::record_stale(lost);
                    tracing::warn!(lost, "leases lost while running; their handlers were stopped");
                }
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

async fn stats_loop<B: Broker>(broker: B, every: Duration, stop: CancellationToken) {
    loop {
        match broker.stats().await {
            Ok(stats) => metrics::record_queue_stats(&stats),
            Err(e) => tracing::debug!(error = %e, "queue stats unavailable"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
    }
}

async fn pause(d: Duration, stop: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.cancelled() => {}
    }
}
