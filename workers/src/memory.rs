//! The in-memory backend: the same semantics as the Redis scripts, in one process, for `dev`
//! mode and unit tests. The state mirrors the Redis keys one to one (mailboxes, ready lanes,
//! delayed set, leases, attempts) so the conformance suite exercises the same model twice.

use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::Notify;

use crate::{
    Ack, Broker, BrokerError, Clock, DeadLetter, Enqueued, ErrorClass, Lane, Leased, NewJob, QueueConfig,
    QueueStats, Replayed, Settle,
    broker::{check_new_job, new_job_id},
    record::Record,
    weights::SmoothWeights,
};

/// Most delayed keys promoted or expired leases reclaimed per lease call (as in the scripts).
const SWEEP_LIMIT: usize = 1000;

#[derive(Debug, Clone, Copy)]
struct Attempt {
    n: u32,
    first_ms: u64,
    last_ms: u64,
    leased: bool,
    /// The lease's fencing token while `leased`.
    token: u64,
}

#[derive(Default)]
struct State {
    mailboxes: HashMap<String, VecDeque<Vec<u8>>>,
    ready: [VecDeque<String>; 3],
    delayed: BTreeSet<(u64, String)>,
    leases: HashMap<String, u64>,
    attempts: HashMap<String, Attempt>,
    weights: SmoothWeights,
    depth: [u64; 3],
    seen: HashMap<String, u64>,
    dead: HashMap<String, DeadLetter>,
    dead_index: BTreeSet<(u64, String)>,
    /// The last lease token handed out.
    tokens: u64,
}

/// A broker that keeps everything in this process.
#[derive(Clone)]
pub struct MemoryBroker {
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    config: QueueConfig,
    clock: Clock,
}

impl MemoryBroker {
    /// An empty queue.
    pub fn new(config: QueueConfig, clock: Clock) -> Self {
        Self {
            state: Arc::default(),
            wake: Arc::default(),
            config,
            clock,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the queue half-updated in a way that
        // matters more than stopping; keep serving with whatever state there is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn head(&self, key: &str) -> Option<Record> {
        let bytes = self.mailboxes.get(key)?.front()?;
        Record::decode(bytes).ok()
    }

    /// Puts `key` where its head job waits: a ready lane, or the delayed set.
    fn schedule(&mut self, key: &str, now: u64) -> bool {
        let Some(head) = self.head(key) else {
            return false;
        };
        if head.due_ms > now {
            self.delayed.insert((head.due_ms, key.to_owned()));
            false
        } else {
            self.ready[head.lane.index()].push_back(key.to_owned());
            true
        }
    }

    /// Removes the head job of `key`; the next one is scheduled.
    fn advance(&mut self, key: &str, now: u64) -> bool {
        self.attempts.remove(key);
        self.leases.remove(key);
        if let Some(mailbox) = self.mailboxes.get_mut(key) {
            if let Some(head) = mailbox.pop_front()
                && let Ok(record) = Record::decode(&head)
            {
                self.depth[record.lane.index()] = self.depth[record.lane.index()].saturating_sub(1);
            }
            if mailbox.is_empty() {
                self.mailboxes.remove(key);
                return false;
            }
        }
        self.schedule(key, now)
    }

    /// Forgets dead letters older than `ttl` (Redis expires them by itself).
    fn expire_dead(&mut self, now: u64, ttl: Duration) {
        let cutoff = now.saturating_sub(ttl.as_millis() as u64);
        while let Some((at, id)) = self.dead_index.first().cloned() {
            if at > cutoff {
                break;
            }
            self.dead_index.remove(&(at, id.clone()));
            self.dead.remove(&id);
        }
    }

    /// Whether `key` is leased under `token` right now (the fence on acks and heartbeats).
    fn holds(&self, key: &str, token: u64) -> Option<Attempt> {
        self.attempts
            .get(key)
            .copied()
            .filter(|a| a.leased && a.token == token)
    }

    fn bury(&mut self, key: &str, class: ErrorClass, error: &str, now: u64) {
        let attempt = self.attempts.get(key).copied();
        if let Some(head) = self.head(key) {
            let letter = DeadLetter {
                id: head.id.clone(),
                kind: head.kind,
                lane: head.lane,
                key: key.to_owned(),
                payload: head.payload,
                error: error.to_owned(),
                class: class.as_str().to_owned(),
                attempts: attempt.map_or(0, |a| a.n),
                enqueued_at_ms: head.enqueued_at_ms,
                first_attempt_at_ms: attempt.map_or(0, |a| a.first_ms),
                last_attempt_at_ms: attempt.map_or(0, |a| a.last_ms),
                dead_at_ms: now,
                replayed_from: head.replayed_from,
            };
            self.dead_index.insert((now, head.id.clone()));
            self.dead.insert(head.id, letter);
        }
    }

    fn push(&mut self, key: &str, record: &Record, now: u64) -> bool {
        let mailbox = self.mailboxes.entry(key.to_owned()).or_default();
        mailbox.push_back(record.encode());
        self.depth[record.lane.index()] += 1;
        if mailbox.len() == 1 {
            // The key was idle: nothing ahead of this job, so it decides where the key waits.
            self.schedule(key, now) || record.due_ms > now
        } else {
            false
        }
    }
}

impl Broker for MemoryBroker {
    fn config(&self) -> &QueueConfig {
        &self.config
    }

    fn clock(&self) -> &Clock {
        &self.clock
    }

    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>, BrokerError> {
        for job in &jobs {
            check_new_job(job)?;
        }
        let now = self.clock.now_ms();
        let window = self.config.dedupe_window.as_millis() as u64;
        let mut wake = false;
        let mut out = Vec::with_capacity(jobs.len());
        {
            let mut state = self.state();
            if state.seen.len() > 100_000 {
                state.seen.retain(|_, expires| *expires > now);
            }
            for job in jobs {
                if let Some(id) = &job.id {
                    if state.seen.get(id).is_some_and(|expires| *expires > now) {
                        out.push(Enqueued::Duplicate);
                        continue;
                    }
                    state.seen.insert(id.clone(), now + window);
                }
                let id = job.id.unwrap_or_else(|| new_job_id(now));
                let record = Record {
                    lane: job.lane,
                    due_ms: now + job.delay.as_millis() as u64,
                    id: id.clone(),
                    kind: job.kind,
                    enqueued_at_ms: now,
                    replayed_from: Vec::new(),
                    payload: job.payload,
                };
                wake |= state.push(&job.key, &record, now);
                out.push(Enqueued::Queued(id));
            }
        }
        if wake {
            self.wake.notify_one();
        }
        Ok(out)
    }

    async fn lease(&self, max: usize) -> Result<Leased, BrokerError> {
        let now = self.clock.now_ms();
        let lease_ms = self.config.lease_duration.as_millis() as u64;
        let mut state = self.state();
        let mut leased = Leased {
            now_ms: now,
            ..Leased::default()
        };

        let due: Vec<(u64, String)> = state
            .delayed
            .iter()
            .take_while(|(at, _)| *at <= now)
            .take(SWEEP_LIMIT)
            .cloned()
            .collect();
        for entry in due {
            state.delayed.remove(&entry);
            state.schedule(&entry.1, now);
        }

        let mut expired: Vec<(u64, String)> = state
            .leases
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(k, d)| (*d, k.clone()))
            .collect();
        expired.sort();
        expired.truncate(SWEEP_LIMIT);
        for (_, key) in expired {
            state.leases.remove(&key);
            let Some(attempt) = state.attempts.get(&key).copied() else {
                continue;
            };
            if attempt.n >= self.config.max_attempts {
                let error = format!(
                    "lease expired on attempt {} of {}",
                    attempt.n, self.config.max_attempts
                );
                state.bury(&key, ErrorClass::LeaseExpired, &error, now);
                state.expire_dead(now, self.config.dead_letter_ttl);
                state.advance(&key, now);
                leased.dead_lettered += 1;
            } else {
                state.attempts.insert(
                    key.clone(),
                    Attempt {
                        leased: false,
                        ..attempt
                    },
                );
                state.schedule(&key, now);
            }
        }

        let lens = [0, 1, 2].map(|i| state.ready[i].len());
        let take = state.weights.split(max, lens, self.config.weights);
        for (lane, count) in take.into_iter().enumerate() {
            for _ in 0..count {
                let Some(key) = state.ready[lane].pop_front() else {
                    break;
                };
                let Some(record) = state.head(&key) else {
                    continue;
                };
                let previous = state.attempts.get(&key).copied();
                state.tokens += 1;
                let attempt = Attempt {
                    n: previous.map_or(0, |a| a.n) + 1,
                    first_ms: previous.map_or(now, |a| a.first_ms),
                    last_ms: now,
                    leased: true,
                    token: state.tokens,
                };
                state.attempts.insert(key.clone(), attempt);
                state.leases.insert(key.clone(), now + lease_ms);
                leased
                    .jobs
                    .push(record.into_job(key, attempt.n, attempt.first_ms, now, attempt.token));
            }
        }
        if leased.jobs.len() < max {
            let next_delayed = state.delayed.first().map(|(at, _)| *at);
            let next_deadline = state.leases.values().min().copied();
            leased.next_wake_ms = next_delayed.into_iter().chain(next_deadline).min();
        } else if state.ready.iter().any(|r| !r.is_empty()) {
            drop(state);
            self.wake.notify_one();
        }
        Ok(leased)
    }

    async fn heartbeat(&self, leases: &[(String, u64)]) -> Result<Vec<bool>, BrokerError> {
        let deadline = self.clock.now_ms() + self.config.lease_duration.as_millis() as u64;
        let mut state = self.state();
        Ok(leases
            .iter()
            .map(|(key, token)| {
                let held = state.holds(key, *token).is_some();
                if held {
                    state.leases.insert(key.clone(), deadline);
                }
                held
            })
            .collect())
    }

    async fn settle(&self, acks: Vec<Ack>) -> Result<Vec<bool>, BrokerError> {
        let now = self.clock.now_ms();
        let mut wake = false;
        let mut out = Vec::with_capacity(acks.len());
        {
            let mut state = self.state();
            for ack in acks {
                // Applying an ack ends the lease, so a second ack of it (even in this batch)
                // finds it no longer held.
                let Some(attempt) = state.holds(&ack.key, ack.token) else {
                    out.push(false);
                    continue;
                };
                out.push(true);
                state.leases.remove(&ack.key);
                match ack.settle {
                    Settle::Done => wake |= state.advance(&ack.key, now),
                    Settle::Dead { class, error } => {
                        state.bury(&ack.key, class, &error, now);
                        state.expire_dead(now, self.config.dead_letter_ttl);
                        wake |= state.advance(&ack.key, now);
                    }
                    Settle::RetryAt { due_ms } | Settle::DeferUntil { due_ms } => {
                        // A deferral gives the attempt back: waiting is not failing.
                        let deferred = matches!(ack.settle, Settle::DeferUntil { .. });
                        state.attempts.insert(
                            ack.key.clone(),
                            Attempt {
                                n: attempt.n - u32::from(deferred),
                                leased: false,
                                ..attempt
                            },
                        );
                        if due_ms > now {
                            state.delayed.insert((due_ms, ack.key.clone()));
                            wake = true;
                        } else {
                            wake |= state.schedule(&ack.key, now);
                        }
                    }
                    Settle::Release => {
                        let back = Attempt {
                            n: attempt.n - 1,
                            leased: false,
                            ..attempt
                        };
                        state.attempts.insert(ack.key.clone(), back);
                        if let Some(head) = state.head(&ack.key) {
                            state.ready[head.lane.index()].push_front(ack.key.clone());
                            wake = true;
                        }
                    }
                }
            }
        }
        if wake {
            self.wake.notify_one();
        }
        Ok(out)
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<(), BrokerError> {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
        Ok(())
    }

    async fn stats(&self) -> Result<QueueStats, BrokerError> {
        let now = self.clock.now_ms();
        let mut state = self.state();
        state.expire_dead(now, self.config.dead_letter_ttl);
        let mut stats = QueueStats {
            in_flight: state.leases.len() as u64,
            delayed_keys: state.delayed.len() as u64,
            dead: state.dead.len() as u64,
            ..Default::default()
        };
        for lane in Lane::ALL {
            let i = lane.index();
            let oldest = state.ready[i]
                .front()
                .and_then(|key| state.head(key))
                .map(|head| now.saturating_sub(head.enqueued_at_ms));
            stats.lanes[i] = crate::LaneStats {
                depth: state.depth[i],
                ready_keys: state.ready[i].len() as u64,
                oldest_age_ms: oldest,
            };
        }
        Ok(stats)
    }

    async fn dead_letter_index(&self) -> Result<Vec<(String, u64)>, BrokerError> {
        let mut state = self.state();
        state.expire_dead(self.clock.now_ms(), self.config.dead_letter_ttl);
        Ok(state
            .dead_index
            .iter()
            .map(|(at, id)| (id.clone(), *at))
            .collect())
    }

    async fn dead_letters(&self, ids: &[String]) -> Result<Vec<DeadLetter>, BrokerError> {
        let state = self.state();
        Ok(ids.iter().filter_map(|id| state.dead.get(id).cloned()).collect())
    }

    async fn replay_dead_letters(
        &self,
        ids: &[String],
        lane: Option<Lane>,
    ) -> Result<Vec<Replayed>, BrokerError> {
        let now = self.clock.now_ms();
        let mut out = Vec::new();
        let mut wake = false;
        {
            let mut state = self.state();
            for id in ids {
                let Some(letter) = state.dead.remove(id) else {
                    continue;
                };
                state.dead_index.remove(&(letter.dead_at_ms, letter.id.clone()));
                let mut history = letter.replayed_from;
                history.push(letter.id.clone());
                let record = Record {
                    lane: lane.unwrap_or(letter.lane),
                    due_ms: now,
                    id: new_job_id(now),
                    kind: letter.kind,
                    enqueued_at_ms: now,
                    replayed_from: history,
                    payload: letter.payload,
                };
                wake |= state.push(&letter.key, &record, now);
                out.push(Replayed {
                    old_id: letter.id,
                    new_id: record.id,
                    lane: record.lane,
                });
            }
        }
        if wake {
            self.wake.notify_one();
        }
        Ok(out)
    }

    async fn remove_dead_letters(&self, ids: &[String]) -> Result<usize, BrokerError> {
        let mut state = self.state();
        let mut removed = 0;
        for id in ids {
            if let Some(letter) = state.dead.remove(id) {
                state.dead_index.remove(&(letter.dead_at_ms, letter.id));
                removed += 1;
            }
        }
        Ok(removed)
    }
}
