//! Operations: the metrics catalogue and its Prometheus exporter (every series at zero from the
//! start, process and pool gauges), worker heartbeats, `ava dlq …` and `ava queues`.

pub mod dlq;
pub mod heartbeat;
pub mod limits;
pub mod metrics;
pub mod process;
pub mod queues;
pub mod series;
