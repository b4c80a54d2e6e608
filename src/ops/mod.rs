//! Operations: the metrics catalogue and its Prometheus exporter; `ava dlq …` over the
//! job runtime's dead-letter queue; `ava store rejected …` over the log rows Postgres refused;
//! the start-up check that Redis will not evict; throttled logging of recurring failures.

pub mod dlq;
pub mod metrics;
pub mod redis_check;
pub mod rejected;
pub mod throttle;
