//! Operations: the metrics catalogue and its Prometheus exporter (every series at zero from the
//! start, process and pool gauges), worker heartbeats, `ava dlq …` and `ava queues` (`ava limits` lives beside the limiter, in ingress);
//! `ava store rejected …` over the log rows Postgres refused; the start-up check that Redis will
//! not evict; throttled logging of recurring failures.

pub mod dlq;
pub mod heartbeat;
pub mod metrics;
pub mod process;
pub mod queues;
pub mod redis_check;
pub mod rejected;
pub mod series;
pub mod throttle;
