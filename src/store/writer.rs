//! The log writer: callers hand it rows and move on; one task writes them to Postgres in batches,
//! spools them to Redis while Postgres is unreachable, and drains the spool, in order, once it is back.
//!
//! Where a row can be, in order: the in-process queue (`store.queue_rows`), the batch being
//! written (`store.batch_rows`), the Redis spool (`store.spool_max_rows`), Postgres. Each stage is
//! bounded; when the spool is full the writer stops taking rows, the queue fills and
//! [`LogWriter::record`] waits: back-pressure reaches the worker, which stops leasing jobs, so
//! updates wait in their durable lanes instead of rows being dropped. That is loud: an error log
//! every few seconds and the `ava_store_spool_full_total` / `ava_store_record_waits_total` metrics.
//!
//! Order: while Postgres is up, up to `store.write_concurrency` batches are in flight at once, so
//! rows of different batches may commit out of order; every statement is written to be
//! order-independent (upserts compare attempts or timestamps; audits wait for earlier batches).
//! Once rows are spooled they reach Postgres strictly in spool order, one drainer at a time.
//!
//! Rows in the queue and batch live in memory: a graceful shutdown flushes them ([`LogWriter::flush`]);
//! a SIGKILL loses at most those (one flush interval's worth).

use std::time::Duration;

use sqlx::PgPool;
use tokio::{
    sync::{mpsc, oneshot},
    time::Instant,
};

use super::{
    batch::{is_unavailable, write_rows},
    metrics as m,
    rows::LogRow,
    spool::{Spool, SpoolError, decode, encode},
};
use crate::config::StoreSettings;

/// What a flush achieved, for tests and the shutdown log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Rows waiting in the Redis spool after the flush (0 when Postgres has everything).
    pub spooled: u64,
    /// Rows still in the writer's memory: neither Postgres nor the spool took them.
    pub held: usize,
    /// Whether the last attempt to reach Postgres succeeded.
    pub postgres_up: bool,
    /// Whether the last attempt to spool found the spool at its bound.
    pub spool_full: bool,
}

enum Control {
    Flush(oneshot::Sender<FlushReport>),
}

/// Handle to the writer task; cheap to clone. Rows recorded through one handle are written in
/// the order they were recorded.
#[derive(Clone)]
pub struct LogWriter {
    rows: mpsc::Sender<LogRow>,
    control: mpsc::Sender<Control>,
}

impl LogWriter {
    /// Starts the writer task on `pool` (give it a short acquire timeout: an unreachable Postgres
    /// should be noticed in about a second) with `spool` for outages.
    pub fn start(pool: PgPool, spool: Spool, settings: &StoreSettings) -> Self {
        let (rows, rows_rx) = mpsc::channel(settings.queue_rows);
        let (control, control_rx) = mpsc::channel(16);
        let task = WriterTask {
            pool,
            spool,
            batch_rows: settings.batch_rows,
            flush_interval: Duration::from_millis(settings.flush_interval_ms),
            write_timeout: Duration::from_millis(settings.write_timeout_ms),
            retry_max: Duration::from_millis(settings.retry_max_ms),
            write_concurrency: settings.write_concurrency,
            buffer: Vec::with_capacity(settings.batch_rows),
            oldest_at: None,
            postgres_up: true,
            retry_delay: RETRY_MIN,
            retry_at: None,
            spool_len: 0,
            last_full_warning: None,
            spool_full: false,
            drainer_token: super::rows::new_log_key(),
        };
        tokio::spawn(task.run(rows_rx, control_rx));
        Self { rows, control }
    }

    /// Queues `row` for writing. Returns at once unless the writer is at its bound (spool full
    /// and queue full): then it waits for room rather than drop the row.
    pub async fn record(&self, row: impl Into<LogRow>) {
        let row = row.into();
        let row = match self.rows.try_send(row) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(row)) => row,
            Err(mpsc::error::TrySendError::Closed(row)) => return writer_gone(&row),
        };
        metrics::counter!(m::RECORD_WAITS).increment(1);
        warn_back_pressure(row.kind());
        if let Err(mpsc::error::SendError(row)) = self.rows.send(row).await {
            writer_gone(&row);
        }
    }

    /// Writes everything recorded before this call to Postgres, or to the spool if Postgres is
    /// unreachable, and tries once to drain the spool. For tests and graceful shutdown.
    pub async fn flush(&self) -> FlushReport {
        let (reply, answer) = oneshot::channel();
        if self.control.send(Control::Flush(reply)).await.is_err() {
            tracing::error!("log writer task is gone; cannot flush");
            return FlushReport::default();
        }
        answer.await.unwrap_or_default()
    }
}

/// Says so at most every few seconds: under back-pressure every record call would.
fn warn_back_pressure(kind: &'static str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_WARNED_SECS: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_WARNED_SECS.load(Ordering::Relaxed);
    if now >= last + FULL_WARNING_EVERY.as_secs()
        && LAST_WARNED_SECS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            kind,
            "log writer queue full (store.queue_rows); the worker waits for room (back-pressure)"
        );
    }
}

fn writer_gone(row: &LogRow) {
    // Only reachable if the writer task panicked: say so with the row, which is then not lost
    // from sight at least (rows carry user text, never secrets).
    tracing::error!(kind = row.kind(), row = %encode(row), "log writer task is gone; row not recorded");
}

const RETRY_MIN: Duration = Duration::from_millis(100);
const FULL_WARNING_EVERY: Duration = Duration::from_secs(5);

struct WriterTask {
    pool: PgPool,
    spool: Spool,
    batch_rows: usize,
    flush_interval: Duration,
    write_timeout: Duration,
    retry_max: Duration,
    /// Batches written at once while Postgres is up.
    write_concurrency: usize,
    /// Rows taken from the queue, oldest first, not yet in Postgres or the spool.
    buffer: Vec<LogRow>,
    oldest_at: Option<Instant>,
    postgres_up: bool,
    retry_delay: Duration,
    /// While Postgres is down: no attempt to reach it before this.
    retry_at: Option<Instant>,
    /// Spool length as last seen.
    spool_len: u64,
    last_full_warning: Option<Instant>,
    spool_full: bool,
    drainer_token: String,
}

impl WriterTask {
    async fn run(mut self, mut rows: mpsc::Receiver<LogRow>, mut control: mpsc::Receiver<Control>) {
        metrics::gauge!(m::POSTGRES_UP).set(1.0);
        self.spool_len = self.spool.spooled_rows().await.unwrap_or(0);
        let mut incoming = Vec::with_capacity(self.batch_rows);
        let mut flights = Flights::new();
        loop {
            let room = self.buffer.len() < self.batch_rows;
            let wake = self.next_wake();
            tokio::select! {
                biased;
                Some(Control::Flush(reply)) = control.recv() => {
                    while let Ok(row) = rows.try_recv() {
                        self.push(row);
                    }
                    self.tick(true, &mut flights).await;
                    let _ = reply.send(self.report());
                }
                // Many rows per wake-up: under load the loop runs per batch, not per row.
                taken = rows.recv_many(&mut incoming, self.batch_rows.saturating_sub(self.buffer.len()).max(1)), if room => {
                    if taken == 0 {
                        // Every handle is gone: last flush, then stop. With nothing buffered
                        // there is nothing to write: land what is in flight and stop without
                        // touching Redis, which a process that is exiting may have closed
                        // already (the spool is drained by the next writer that starts).
                        if self.buffer.is_empty() {
                            self.land_all(&mut flights).await;
                            return;
                        }
                        self.tick(true, &mut flights).await;
                        let report = self.report();
                        if report.held > 0 {
                            tracing::error!(held = report.held, "log writer stopping with rows neither Postgres nor the spool took");
                        }
                        return;
                    }
                    if self.buffer.is_empty() {
                        self.oldest_at = Some(Instant::now());
                    }
                    self.buffer.append(&mut incoming);
                    if self.buffer.len() >= self.batch_rows {
                        self.tick(false, &mut flights).await;
                    }
                }
                Some(landed) = flights.join_next(), if !flights.is_empty() => self.land(landed).await,
                () = sleep_until(wake), if wake.is_some() => self.tick(false, &mut flights).await,
            }
        }
    }

    fn push(&mut self, row: LogRow) {
        if self.buffer.is_empty() {
            self.oldest_at = Some(Instant::now());
        }
        self.buffer.push(row);
    }

    /// When the loop must act without new input: the batch's age limit, or the next attempt to
    /// reach Postgres while rows wait in the spool or in memory.
    fn next_wake(&self) -> Option<Instant> {
        let batch_due = self.oldest_at.map(|at| at + self.flush_interval);
        let retry_due = if self.spool_len > 0 || !self.buffer.is_empty() {
            Some(self.retry_at.unwrap_or_else(|| Instant::now() + self.retry_max))
        } else {
            None
        };
        match (batch_due, retry_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn report(&self) -> FlushReport {
        FlushReport {
            spooled: self.spool_len,
            held: self.buffer.len(),
            postgres_up: self.postgres_up,
            spool_full: self.spool_full,
        }
    }

    /// Moves rows one stage on: spool into Postgres first (order), then the batch into Postgres,
    /// or into the spool when Postgres is unreachable or the spool still has older rows.
    async fn tick(&mut self, force: bool, flights: &mut Flights) {
        while let Some(landed) = flights.try_join_next() {
            self.land(landed).await;
        }
        if force {
            self.land_all(flights).await;
        }
        let may_try_postgres = force || self.retry_at.is_none_or(|at| Instant::now() >= at);
        match self.spool.spooled_rows().await {
            Ok(len) => self.spool_len = len,
            Err(e) => tracing::warn!(error = %e, "cannot read the spool length"),
        }
        if self.spool_len > 0 && may_try_postgres {
            self.land_all(flights).await;
            self.drain_spool().await;
        }
        if !self.buffer.is_empty() && self.spool_len == 0 && may_try_postgres {
            let batch = std::mem::take(&mut self.buffer);
            let audits = batch.iter().any(|r| matches!(r, LogRow::DeadLetterAudit(_)));
            if self.postgres_up && !force && !audits {
                // Several batches in flight, each on its own connection: a batch's round trip
                // (including TCP's delayed-ACK stalls: sqlx 0.9 does not set TCP_NODELAY) no
                // longer holds up the next. Every statement is order-independent, except an
                // audit, which waits for the dead letters recorded before it.
                if flights.len() >= self.write_concurrency
                    && let Some(landed) = flights.join_next().await
                {
                    self.land(landed).await;
                }
                flights.spawn(write_batch(self.pool.clone(), self.write_timeout, batch));
            } else {
                self.land_all(flights).await;
                let started = Instant::now();
                let result = timed_write(&self.pool, self.write_timeout, &batch).await;
                self.settle(batch, started, result).await;
            }
        }
        if !self.buffer.is_empty() {
            self.spool_buffer().await;
        }
        if self.buffer.is_empty() {
            self.spool_full = false;
        }
        // Rows still held wait for the next retry, not for the batch timer (which has expired:
        // waking on it would spin).
        self.oldest_at = None;
        let now = Instant::now();
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = Some(now + self.retry_delay);
        }
        metrics::gauge!(m::SPOOL_ROWS).set(self.spool_len as f64);
        metrics::gauge!(m::ROWS_HELD).set(self.buffer.len() as f64);
    }

    /// One batch into Postgres, within the write timeout; tracks whether Postgres is up.
    async fn write(&mut self, rows: &[LogRow]) -> Result<(), sqlx::Error> {
        let started = Instant::now();
        let result = timed_write(&self.pool, self.write_timeout, rows).await;
        self.account(rows.len(), started, &result);
        result
    }

    /// Metrics and Postgres' up/down state after a batch write.
    fn account(&mut self, rows: usize, started: Instant, result: &Result<(), sqlx::Error>) {
        match result {
            Ok(()) => {
                metrics::histogram!(m::BATCH_SECONDS).record(started.elapsed().as_secs_f64());
                metrics::counter!(m::ROWS_WRITTEN).increment(rows as u64);
                self.postgres_reached();
            }
            Err(e) if is_unavailable(e) => self.postgres_unreachable(e),
            Err(_) => self.postgres_reached(),
        }
    }

    /// Handles a finished write: unreachable puts the rows back at the front of the buffer (to
    /// be spooled ahead of newer ones); refused isolates the bad rows.
    async fn settle(&mut self, batch: Vec<LogRow>, started: Instant, result: Result<(), sqlx::Error>) {
        self.account(batch.len(), started, &result);
        match result {
            Ok(()) => {}
            Err(e) if is_unavailable(&e) => {
                self.buffer.splice(0..0, batch);
            }
            Err(e) => {
                tracing::warn!(error = %e, rows = batch.len(), "Postgres refused a log batch; isolating the bad rows");
                if let Err(e) = self.write_one_by_one(&batch).await {
                    // Unreachable mid-way: keep the batch; replaying written rows is harmless.
                    tracing::debug!(error = %e, "Postgres went away while isolating rows");
                    self.buffer.splice(0..0, batch);
                }
            }
        }
    }

    async fn land(&mut self, landed: Result<Flight, tokio::task::JoinError>) {
        match landed {
            Ok((batch, started, result)) => self.settle(batch, started, result).await,
            // write_rows does not panic on any input; if it ever did, say so loudly.
            Err(e) => tracing::error!(error = %e, "a log batch write task failed; its rows are lost"),
        }
    }

    async fn land_all(&mut self, flights: &mut Flights) {
        while let Some(landed) = flights.join_next().await {
            self.land(landed).await;
        }
    }

    fn postgres_reached(&mut self) {
        if !self.postgres_up {
            tracing::info!(
                spooled = self.spool_len,
                "Postgres is reachable again; draining the log spool"
            );
            metrics::gauge!(m::POSTGRES_UP).set(1.0);
        }
        self.postgres_up = true;
        self.retry_delay = RETRY_MIN;
        self.retry_at = None;
    }

    fn postgres_unreachable(&mut self, error: &sqlx::Error) {
        if self.postgres_up {
            tracing::error!(error = %error, "Postgres unreachable; log rows go to the Redis spool");
            metrics::gauge!(m::POSTGRES_UP).set(0.0);
        }
        self.postgres_up = false;
        self.retry_at = Some(Instant::now() + self.retry_delay);
        self.retry_delay = (self.retry_delay * 2).min(self.retry_max);
    }

    /// Each row alone, so one bad row cannot hold back the others; bad rows go to the rejected list.
    async fn write_one_by_one(&mut self, rows: &[LogRow]) -> Result<(), sqlx::Error> {
        let mut bad = Vec::new();
        for row in rows {
            match self.write(std::slice::from_ref(row)).await {
                Ok(()) => {}
                Err(e) if is_unavailable(&e) => return Err(e),
                Err(e) => {
                    tracing::error!(error = %e, kind = row.kind(), row = %encode(row), "Postgres refused a log row; kept in the rejected list");
                    bad.push(encode(row));
                }
            }
        }
        metrics::counter!(m::ROWS_REJECTED).increment(bad.len() as u64);
        if let Err(e) = self.spool.reject(&bad).await {
            tracing::error!(error = %e, rows = ?bad, "cannot keep rejected log rows in Redis");
        }
        Ok(())
    }

    async fn spool_buffer(&mut self) {
        match self.spool.append(&self.buffer).await {
            Ok(len) => {
                metrics::counter!(m::ROWS_SPOOLED).increment(self.buffer.len() as u64);
                self.spool_len = len;
                self.spool_full = false;
                self.buffer.clear();
            }
            Err(SpoolError::Full { len, bound }) => {
                self.spool_len = len;
                self.spool_full = true;
                metrics::counter!(m::SPOOL_FULL).increment(1);
                if self
                    .last_full_warning
                    .is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY)
                {
                    self.last_full_warning = Some(Instant::now());
                    tracing::error!(
                        spooled = len,
                        bound,
                        held = self.buffer.len(),
                        "log spool FULL (store.spool_max_rows): holding rows and pausing the worker until Postgres is back"
                    );
                }
            }
            Err(e) => {
                if self
                    .last_full_warning
                    .is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY)
                {
                    self.last_full_warning = Some(Instant::now());
                    tracing::error!(error = %e, held = self.buffer.len(),
                        "neither Postgres nor the Redis spool takes log rows; holding them in memory");
                }
            }
        }
    }

    /// Writes the spool to Postgres head first, chunk by chunk, under the drain lock.
    async fn drain_spool(&mut self) {
        let token = self.drainer_token.clone();
        match self.spool.lock(&token).await {
            Ok(true) => {}
            Ok(false) => return, // another process is draining
            Err(e) => return tracing::warn!(error = %e, "cannot take the spool drain lock"),
        }
        if let Err(e) = self.drain_locked(&token).await {
            tracing::debug!(error = %e, "spool drain stopped");
        }
        if let Err(e) = self.spool.unlock(&token).await {
            tracing::warn!(error = %e, "cannot release the spool drain lock (it expires by itself)");
        }
        if let Ok(len) = self.spool.spooled_rows().await {
            self.spool_len = len;
        }
    }

    async fn drain_locked(&mut self, token: &str) -> anyhow::Result<()> {
        loop {
            let entries = self.spool.peek(self.batch_rows).await?;
            if entries.is_empty() {
                self.spool_len = 0;
                return Ok(());
            }
            let mut rows = Vec::with_capacity(entries.len());
            let mut undecodable = Vec::new();
            for entry in &entries {
                match decode(entry) {
                    Ok(row) => rows.push(row),
                    Err(e) => {
                        tracing::error!(error = %e, entry = %entry, "spooled log row does not decode; kept in the rejected list");
                        undecodable.push(entry.clone());
                    }
                }
            }
            match self.write(&rows).await {
                Ok(()) => {}
                Err(e) if is_unavailable(&e) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, "Postgres refused a spooled batch; isolating the bad rows");
                    self.write_one_by_one(&rows).await?;
                }
            }
            metrics::counter!(m::ROWS_REJECTED).increment(undecodable.len() as u64);
            self.spool.reject(&undecodable).await?;
            if !self.spool.trim(token, entries.len()).await? {
                anyhow::bail!("lost the drain lock; another process continues");
            }
            self.spool_len = self.spool_len.saturating_sub(entries.len() as u64);
        }
    }
}

/// A batch written in the background: the rows, when the write started, and how it ended.
type Flight = (Vec<LogRow>, Instant, Result<(), sqlx::Error>);
type Flights = tokio::task::JoinSet<Flight>;

async fn write_batch(pool: PgPool, timeout: Duration, batch: Vec<LogRow>) -> Flight {
    let started = Instant::now();
    let result = timed_write(&pool, timeout, &batch).await;
    (batch, started, result)
}

/// A write that takes longer than `timeout` counts as Postgres being unreachable.
async fn timed_write(pool: &PgPool, timeout: Duration, rows: &[LogRow]) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(timeout, write_rows(pool, rows)).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
