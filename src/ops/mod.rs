//! Operations: the metrics catalogue and its Prometheus exporter; `ava dlq …` over the
//! job runtime's dead-letter queue.

pub mod dlq;
pub mod metrics;
