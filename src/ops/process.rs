//! Gauges sampled when `/metrics` is scraped: the process' own CPU, memory and descriptors (from
//! `/proc`, under Prometheus' standard `process_*` names) and the Postgres pools it watches.
//!
//! Sampled on scrape rather than by a timer, so the figures are as fresh as the scrape and an
//! idle process costs nothing.

use std::sync::Mutex;

use metrics::{counter, gauge};
use sqlx::PgPool;

use super::metrics as m;

static POOLS: Mutex<Vec<PgPool>> = Mutex::new(Vec::new());

/// Adds `pool` to what `ava_postgres_pool_*` reports (summed over the process' pools).
pub fn watch_pool(pool: &PgPool) {
    let mut pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    if !pools.iter().any(|p| same_pool(p, pool)) {
        pools.push(pool.clone());
    }
}

fn same_pool(a: &PgPool, b: &PgPool) -> bool {
    // Clones of one pool share their options; identity is what matters, not equality.
    std::ptr::eq(a.options(), b.options())
}

/// Samples every scrape-time gauge.
pub fn sample() {
    sample_pools();
    sample_process();
}

fn sample_pools() {
    let pools = POOLS.lock().unwrap_or_else(|e| e.into_inner());
    let (mut size, mut idle, mut max) = (0u64, 0u64, 0u64);
    for pool in pools.iter() {
        size += u64::from(pool.size());
        idle += pool.num_idle() as u64;
        max += u64::from(pool.options().get_max_connections());
    }
    gauge!(m::POSTGRES_POOL_CONNECTIONS, "state" => "in_use").set(size.saturating_sub(idle) as f64);
    gauge!(m::POSTGRES_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    gauge!(m::POSTGRES_POOL_MAX).set(max as f64);
}

/// What `/proc/self` says; `None` off Linux, where the gauges stay at zero.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ProcStat {
    cpu_seconds: f64,
    start_time_seconds: f64,
    virtual_bytes: u64,
    resident_bytes: u64,
}

fn sample_process() {
    let Some(stat) = read_proc_stat() else { return };
    // A counter that only moves forward: set it to the kernel's running total.
    // The facade's counters are integers: whole seconds, enough for a rate over minutes.
    counter!(m::PROCESS_CPU_SECONDS).absolute(stat.cpu_seconds as u64);
    gauge!(m::PROCESS_RESIDENT_MEMORY).set(stat.resident_bytes as f64);
    gauge!(m::PROCESS_VIRTUAL_MEMORY).set(stat.virtual_bytes as f64);
    gauge!(m::PROCESS_START_TIME).set(stat.start_time_seconds);
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge!(m::PROCESS_OPEN_FDS).set(fds.count() as f64);
    }
}

fn read_proc_stat() -> Option<ProcStat> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok()?;
    let btime = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse::<f64>()
        .ok()?;
    parse_stat(&stat, btime, 100.0, 4096)
}

/// Parses `/proc/self/stat`. `ticks` is USER_HZ (100 on every Linux AVA targets) and `page` the
/// page size; the command name may hold spaces and parentheses, so fields count from its last `)`.
fn parse_stat(stat: &str, btime: f64, ticks: f64, page: u64) -> Option<ProcStat> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the man page, so field n is fields[n - 3].
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
    let utime = field(14)?;
    let stime = field(15)?;
    let start = field(22)?;
    let vsize = field(23)?;
    let rss = field(24)?;
    Some(ProcStat {
        cpu_seconds: (utime + stime) / ticks,
        start_time_seconds: btime + start / ticks,
        virtual_bytes: vsize as u64,
        resident_bytes: rss as u64 * page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_from_the_last_parenthesis() {
        // A real line, with a command name that holds a space and a parenthesis.
        let line = "4242 (ava (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 1000 \
                    123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let stat = parse_stat(line, 1_700_000_000.0, 100.0, 4096).expect("parses");
        assert_eq!(stat.cpu_seconds, 3.0);
        assert_eq!(stat.start_time_seconds, 1_700_000_010.0);
        assert_eq!(stat.virtual_bytes, 123_456_789);
        assert_eq!(stat.resident_bytes, 2048 * 4096);
    }

    #[test]
    fn a_truncated_line_gives_nothing() {
        assert_eq!(parse_stat("1 (ava) S 1 2 3", 0.0, 100.0, 4096), None);
    }
}
