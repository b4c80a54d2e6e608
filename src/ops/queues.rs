//! `ava queues`: the lanes (depth, ready chats, oldest age), jobs in flight, delayed jobs, dead
//! letters, and the live workers with their heartbeat age. `--watch` redraws; `--json` prints
//! one JSON document (per refresh with `--watch`).

use std::{fmt::Write, time::Duration};

use clap::Args;
use serde::Serialize;
use workers::{Broker, Lane, RedisBroker};

use super::heartbeat::{self, Heartbeats};
use crate::config::Settings;

/// `ava queues` options.
#[derive(Debug, Clone, Default, Args)]
pub struct QueuesArgs {
    /// Redraw every `--interval` seconds until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with `--watch`.
    #[arg(long, default_value_t = 2)]
    pub interval: u64,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One lane in a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct LaneView {
    /// high, normal or low.
    pub lane: &'static str,
    /// Jobs queued and not finished.
    pub depth: u64,
    /// Chats whose next job can run now.
    pub ready_chats: u64,
    /// Age of the job at the front, seconds.
    pub oldest_age_secs: Option<f64>,
}

/// One worker in a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerView {
    /// `host-pid`.
    pub name: String,
    /// Seconds since its last heartbeat.
    pub heartbeat_age_secs: f64,
    /// Whether that is recent enough to count it alive.
    pub alive: bool,
    /// Jobs it was running.
    pub busy: u64,
    /// Its job slots.
    pub slots: u64,
}

/// What `ava queues` and the admin API's queue stats show.
#[derive(Debug, Clone, Serialize)]
pub struct QueuesView {
    /// Per lane.
    pub lanes: Vec<LaneView>,
    /// Jobs leased right now.
    pub in_flight: u64,
    /// Chats waiting for a due time (delayed jobs and retries).
    pub delayed: u64,
    /// Dead letters stored.
    pub dead_letters: u64,
    /// Workers heard from in the last hour, freshest first.
    pub workers: Vec<WorkerView>,
    /// How many of them are alive.
    pub workers_alive: usize,
}

/// Takes one snapshot.
pub async fn snapshot(broker: &RedisBroker, beats: &Heartbeats) -> anyhow::Result<QueuesView> {
    let stats = broker.stats().await?;
    let now = heartbeat::now_ms();
    let workers: Vec<WorkerView> = beats
        .list()
        .await?
        .into_iter()
        .map(|b| WorkerView {
            heartbeat_age_secs: b.age(now).as_secs_f64(),
            alive: b.alive(now),
            name: b.name,
            busy: b.busy,
            slots: b.slots,
        })
        .collect();
    Ok(QueuesView {
        // `QueueStats::lanes` is indexed like `Lane::ALL`.
        lanes: Lane::ALL
            .iter()
            .zip(&stats.lanes)
            .map(|(lane, s)| LaneView {
                lane: lane.as_str(),
                depth: s.depth,
                ready_chats: s.ready_keys,
                oldest_age_secs: s.oldest_age_ms.map(|ms| ms as f64 / 1000.0),
            })
            .collect(),
        in_flight: stats.in_flight,
        delayed: stats.delayed_keys,
        dead_letters: stats.dead,
        workers_alive: workers.iter().filter(|w| w.alive).count(),
        workers,
    })
}

/// The text form.
pub fn render(view: &QueuesView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:>8} {:>12} {:>12}",
        "LANE", "DEPTH", "READY CHATS", "OLDEST"
    );
    for lane in &view.lanes {
        let oldest = lane
            .oldest_age_secs
            .map_or_else(|| "-".to_owned(), |s| format!("{s:.1}s"));
        let _ = writeln!(
            out,
            "{:<8} {:>8} {:>12} {:>12}",
            lane.lane, lane.depth, lane.ready_chats, oldest
        );
    }
    let _ = writeln!(
        out,
        "in flight: {}   delayed: {}   dead letters: {}",
        view.in_flight, view.delayed, view.dead_letters
    );
    let _ = writeln!(
        out,
        "workers alive: {} of {} seen",
        view.workers_alive,
        view.workers.len()
    );
    for w in &view.workers {
        let _ = writeln!(
            out,
            "  {:<32} heartbeat {:>6.1}s ago  busy {}/{}{}",
            w.name,
            w.heartbeat_age_secs,
            w.busy,
            w.slots,
            if w.alive { "" } else { "  (silent: presumed dead)" }
        );
    }
    out
}

/// `ava queues`: prints one snapshot, or redraws until Ctrl-C with `--watch`.
pub async fn run(settings: &Settings, args: QueuesArgs) -> anyhow::Result<String> {
    let backends = crate::app::Backends::connect(settings).await?;
    let broker = backends.queue.clone();
    let beats = Heartbeats::new(backends.redis.clone(), backends.prefix());
    let once = |view: &QueuesView| -> anyhow::Result<String> {
        Ok(if args.json {
            format!("{}\n", serde_json::to_string(view)?)
        } else {
            render(view)
        })
    };
    if !args.watch {
        return once(&snapshot(&broker, &beats).await?);
    }
    anyhow::ensure!(args.interval > 0, "--interval must be at least 1 second");
    loop {
        let text = once(&snapshot(&broker, &beats).await?)?;
        if args.json {
            print!("{text}");
        } else {
            // Clear the screen and go home, then draw.
            print!(
                "\x1b[2J\x1b[H{}\n(refreshing every {} s; Ctrl-C to stop)\n",
                text, args.interval
            );
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(String::new()),
            _ = tokio::time::sleep(Duration::from_secs(args.interval)) => {}
        }
    }
}
