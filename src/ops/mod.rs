//! Operations: the metrics catalogue and its Prometheus exporter.

pub mod metrics;
