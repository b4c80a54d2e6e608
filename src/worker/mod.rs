//! The worker role: leases jobs, turns each update into replies, and records both.

mod access;
use anyhow::Context as _;
mod chat_state;
mod conversation;
mod handlers;
mod job_record;
mod pauses;
mod requests;
mod token_check;

pub use token_check::check_token;

pub use pauses::TELEGRAM_429_SCOPE;

use std::{sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tracing::Instrument;
use workers::{Broker, Job, Outcome, RedisBroker, Runner};

use crate::{
    app::Backends, config::Settings, shutdown::Shutdown, store::LogWriter, store::Store, telegram::Outbound,
};

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A job ran and ended with this outcome.
    Ran(Outcome),
    /// No job arrived within the wait.
    Empty,
}

/// One worker process's state, shared by its consumer tasks.
#[derive(Clone)]
pub struct Worker {
    broker: RedisBroker,
    outbound: Outbound,
    /// AVA's own tables (alerts, prices, the paper broker); log rows go through `log`.
    store: Store,
    log: LogWriter,
    /// Days each table keeps its rows, for the retention job.
    retention: crate::config::RetentionDays,
    name: String,
    conv: conversation::ConversationDeps,
}

impl Worker {
    /// A worker over the process' backends: its queue, pool, log writer and Redis handle.
    pub fn new(backends: &Backends, settings: &Settings) -> anyhow::Result<Self> {
        let log = backends.log.clone();
        Ok(Self {
            broker: backends.queue.clone(),
            outbound: backends
                .outbound(&settings.telegram, &settings.outbound_limit)?
                .with_pause_sink(Arc::new(pauses::RecordedPauses::new(log.clone()))),
            conv: conversation::ConversationDeps::new(backends, settings)?,
            log,
            retention: settings.store.retention_days.clone(),
            store: backends.store.clone(),
            name: format!("{}-{}", hostname(), std::process::id()),
        })
    }

    /// The log writer; tests flush it before reading Postgres.
    pub fn log(&self) -> &LogWriter {
        &self.log
    }

    /// Leases one job, waiting up to `wait` for one, runs it and settles it. Tests step with this.
    pub async fn try_execute_one(&self, wait: Duration) -> anyhow::Result<Step> {
        let runner = self.runner();
        if let Some(executed) = runner.try_execute().await? {
            return Ok(Step::Ran(executed.outcome));
        }
        self.broker.wait_for_work(wait).await?;
        Ok(match runner.try_execute().await? {
            Some(executed) => Step::Ran(executed.outcome),
            None => Step::Empty,
        })
    }

    /// The job runtime's consumer over this worker's handler.
    fn runner(
        &self,
    ) -> Runner<
        RedisBroker,
        impl Fn(Job) -> futures::future::BoxFuture<'static, Outcome> + Send + Sync + 'static,
    > {
        let worker = self.clone();
        Runner::new(
            self.broker.clone(),
            move |job: Job| -> futures::future::BoxFuture<'static, Outcome> {
                let worker = worker.clone();
                Box::pin(async move { worker.handle(&job).await })
            },
        )
        .on_attempt(job_record::attempt_hook(self.log.clone(), self.name.clone()))
    }

    async fn handle(&self, job: &Job) -> Outcome {
        // Instrumented rather than entered: the job's future runs on the runtime's tasks and must
        // be Send, which a span guard held across awaits is not.
        let span = tracing::info_span!(
            "job",
            job_id = %job.id,
            kind = %job.kind,
            update_id = tracing::field::Empty,
            chat_id = tracing::field::Empty
        );
        self.dispatch(job).instrument(span).await
    }

    /// Runs up to `worker.concurrency` jobs at once until `shutdown`, then flushes the log.
    pub async fn run(self, concurrency: usize, shutdown: Shutdown) -> anyhow::Result<()> {
        tracing::info!(concurrency, name = %self.name, "worker running");
        self.runner()
            .concurrency(concurrency)
            .run(async move { shutdown.cancelled().await })
            .await?;
        let flushed = self.log.flush().await;
        if flushed.held > 0 {
            tracing::error!(
                held = flushed.held,
                "stopping with log rows neither Postgres nor the Redis spool took"
            );
        }
        tracing::info!("worker stopped");
        Ok(())
    }
}

/// `ava worker`: runs jobs until shutdown; serves `GET /metrics` on `metrics_listener` (or
/// `worker.metrics_addr` when set).
pub async fn run(
    settings: Settings,
    metrics_listener: Option<TcpListener>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    settings.require_token()?;
    check_token(&settings.telegram).await?;
    let backends = Backends::connect(&settings).await?;
    crate::ops::metrics::install();
    let metrics = serve_metrics(metrics_listener, &settings.worker.metrics_addr, shutdown.clone()).await?;
    Worker::new(&backends, &settings)?
        .run(settings.worker.concurrency, shutdown)
        .await?;
    if let Some(metrics) = metrics {
        metrics.await??;
    }
    Ok(())
}

/// Serves `GET /metrics` on `listener`, or on `addr` when set, until shutdown.
async fn serve_metrics(
    listener: Option<TcpListener>,
    addr: &str,
    shutdown: Shutdown,
) -> anyhow::Result<Option<tokio::task::JoinHandle<anyhow::Result<()>>>> {
    let listener = match listener {
        Some(listener) => listener,
        None if addr.is_empty() => return Ok(None),
        None => tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on worker.metrics_addr {addr}"))?,
    };
    tracing::info!(addr = %listener.local_addr()?, "worker serves /metrics");
    Ok(Some(tokio::spawn(crate::ingress::serve(
        listener,
        crate::ops::metrics::router(),
        shutdown,
    ))))
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned())
}
