//! Operations: the metrics catalogue and its Prometheus exporter; `ava dlq …` over the
//! job runtime's dead-letter queue; `ava store rejected …` over the log rows Postgres refused.

pub mod dlq;
pub mod metrics;
pub mod rejected;
