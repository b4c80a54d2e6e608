//! Operations: the metrics catalogue and its Prometheus exporter; `ava dlq …` over the
//! job runtime's dead-letter queue; throttled logging of recurring failures.

pub mod dlq;
pub mod metrics;
pub mod throttle;
