//! The scheduler role (`ava scheduler`): one leader at a time enqueues AVA's periodic work as
//! jobs on the low lane, each with an id per period slot, so a repeated tick (by the same or
//! another instance) enqueues nothing new. The jobs get the runtime's retries and dead letters.
//!
//! Time is passed to [`Scheduler::tick`], so tests drive it without sleeping.

mod leader;

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

pub use leader::LeaderLock;
use workers::{Broker, Enqueued, RedisBroker};

use crate::{
    app::Backends,
    config::Settings,
    jobs::{Kind, Tick},
    ops::throttle::Throttle,
    shutdown::Shutdown,
};

/// A job kind enqueued every `period_ms`.
#[derive(Debug, Clone, Copy)]
pub struct Periodic {
    /// Job kind.
    pub kind: Kind,
    /// Period.
    pub period_ms: u64,
}

/// What one tick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickReport {
    /// Another instance leads; nothing enqueued.
    Follower,
    /// This instance leads; these job ids were newly enqueued.
    Leader(Vec<String>),
}

/// One scheduler instance.
pub struct Scheduler {
    broker: RedisBroker,
    lock: LeaderLock,
    tasks: Vec<Periodic>,
    // Saves a Redis round trip per task per tick; the job id dedupe is what guarantees once.
    last_slot: HashMap<Kind, u64>,
}

impl Scheduler {
    /// A scheduler on the process' backends. `instance` names this instance in the leader lock.
    pub fn new(backends: &Backends, settings: &Settings, instance: String) -> Self {
        let s = &settings.scheduler;
        let every = |kind, secs: u64| Periodic {
            kind,
            period_ms: secs * 1000,
        };
        let tasks = vec![
            every(Kind::AlertMonitor, s.alert_monitor_secs),
            every(Kind::DataCollector, s.data_collector_secs),
            every(Kind::TimeoutSweep, s.timeout_sweep_secs),
            every(Kind::Retention, s.retention_secs),
            every(Kind::DeadLetterMirror, s.dead_letter_mirror_secs),
        ];
        debug_assert!(Kind::PERIODIC.iter().all(|k| tasks.iter().any(|t| t.kind == *k)));
        Self {
            broker: backends.queue.clone(),
            lock: LeaderLock::new(
                backends.redis.clone(),
                backends.prefix(),
                instance,
                s.lease_secs * 1000,
            ),
            tasks,
            last_slot: HashMap::new(),
        }
    }

    /// The periodic tasks.
    pub fn tasks(&self) -> &[Periodic] {
        &self.tasks
    }

    /// Renews leadership and, when leading, enqueues every task whose slot at `now_ms` is new.
    pub async fn tick(&mut self, now_ms: u64) -> anyhow::Result<TickReport> {
        if !self.lock.acquire_or_renew().await? {
            self.last_slot.clear();
            return Ok(TickReport::Follower);
        }
        let mut enqueued = Vec::new();
        for task in &self.tasks {
            let slot = now_ms / task.period_ms;
            if self.last_slot.get(&task.kind) == Some(&slot) {
                continue;
            }
            let job = Tick { at_ms: now_ms }.job(task.kind, slot);
            let id = job.id.clone().unwrap_or_default();
            match self.broker.enqueue(job).await? {
                Enqueued::Queued(_) => enqueued.push(id),
                Enqueued::Duplicate => tracing::debug!(%id, "tick already enqueued"),
            }
            self.last_slot.insert(task.kind, slot);
        }
        if !enqueued.is_empty() {
            tracing::debug!(jobs = ?enqueued, "scheduler enqueued");
        }
        Ok(TickReport::Leader(enqueued))
    }

    /// Gives up leadership.
    pub async fn resign(&self) -> anyhow::Result<()> {
        self.lock.release().await?;
        Ok(())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `ava scheduler`: ticks every `scheduler.tick_ms` until shutdown, then resigns.
pub async fn run(settings: Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let backends = Backends::connect(&settings).await?;
    run_on(&backends, &settings, shutdown).await
}

/// The scheduler role on a process' backends (`dev` shares its own).
pub async fn run_on(backends: &Backends, settings: &Settings, shutdown: Shutdown) -> anyhow::Result<()> {
    let instance = format!(
        "{}-{}-{:08x}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "scheduler".into()),
        std::process::id(),
        rand::random::<u32>()
    );
    let mut scheduler = Scheduler::new(backends, settings, instance.clone());
    tracing::info!(%instance, "scheduler running");
    let mut led = false;
    let failures = Throttle::new(Duration::from_secs(10));
    let mut interval = tokio::time::interval(Duration::from_millis(settings.scheduler.tick_ms));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.cancelled() => break,
        }
        match scheduler.tick(now_ms()).await {
            Ok(report) => {
                let leading = matches!(report, TickReport::Leader(_));
                if leading != led {
                    tracing::info!(%instance, leading, "scheduler leadership changed");
                    led = leading;
                }
            }
            Err(e) => {
                // A tick fails every `tick_ms` while Redis is away: say so once per interval.
                if let Some(held) = failures.check() {
                    tracing::error!(error = %e, similar_since_last = held, "scheduler tick failed; trying again next tick");
                }
            }
        }
    }
    if let Err(e) = scheduler.resign().await {
        tracing::warn!(error = %e, "cannot release the scheduler lock; it expires with its lease");
    }
    tracing::info!("scheduler stopped");
    Ok(())
}
