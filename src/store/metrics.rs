//! The store's metrics, declared once with their help text (through the `metrics` facade; the
//! app installs the one Prometheus exporter).

/// Rows written to Postgres (directly or from the spool).
pub const ROWS_WRITTEN: &str = "ava_store_rows_written_total";
/// Rows appended to the Redis spool because Postgres was unreachable.
pub const ROWS_SPOOLED: &str = "ava_store_rows_spooled_total";
/// Rows Postgres refused as invalid, kept in the `rejected_rows` table (`ava store rejected list`).
pub const ROWS_REJECTED: &str = "ava_store_rows_rejected_total";
/// Rows waiting in the Redis spool.
pub const SPOOL_ROWS: &str = "ava_store_spool_rows";
/// Times a batch could not be spooled because the spool was at `store.spool_max_rows`.
pub const SPOOL_FULL: &str = "ava_store_spool_full_total";
/// Rows held in the writer's memory because neither Postgres nor the spool would take them.
pub const ROWS_HELD: &str = "ava_store_rows_held";
/// Times `record` had to wait for room: back-pressure reached the caller.
pub const RECORD_WAITS: &str = "ava_store_record_waits_total";
/// 1 while the writer can reach Postgres, 0 while it spools.
pub const POSTGRES_UP: &str = "ava_store_postgres_up";
/// Batch writes run again after losing a deadlock (40P01) or serialization (40001) race.
pub const BATCH_RETRIES: &str = "ava_store_batch_retries_total";
/// Bytes of log rows waiting in the Redis spool (bounded by `store.spool_max_bytes`).
pub const SPOOL_BYTES: &str = "ava_store_spool_bytes";
/// Duration of one batch write to Postgres.
pub const BATCH_SECONDS: &str = "ava_store_batch_write_seconds";

/// Registers help texts; call once after installing the exporter (harmless without one).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(ROWS_WRITTEN, "Log rows written to Postgres");
    describe_counter!(
        ROWS_SPOOLED,
        "Log rows spooled to Redis while Postgres was unreachable"
    );
    describe_counter!(
        ROWS_REJECTED,
        "Log rows Postgres refused as invalid (kept in the rejected_rows table)"
    );
    describe_gauge!(SPOOL_ROWS, "Log rows waiting in the Redis spool");
    describe_counter!(SPOOL_FULL, "Batches that found the spool at store.spool_max_rows");
    describe_gauge!(
        ROWS_HELD,
        "Log rows held in memory: neither Postgres nor the spool took them"
    );
    describe_counter!(
        RECORD_WAITS,
        "Log writes that waited for room (back-pressure on the worker)"
    );
    describe_gauge!(
        POSTGRES_UP,
        "1 while the log writer reaches Postgres, 0 while it spools"
    );
    describe_counter!(
        BATCH_RETRIES,
        "Log batch writes run again after a deadlock or serialization failure"
    );
    describe_gauge!(
        SPOOL_BYTES,
        Unit::Bytes,
        "Bytes of log rows waiting in the Redis spool"
    );
    // Counters exist from start-up, so dashboards and increase() rules see the first event.
    for counter in [
        ROWS_WRITTEN,
        ROWS_SPOOLED,
        ROWS_REJECTED,
        SPOOL_FULL,
        RECORD_WAITS,
        BATCH_RETRIES,
    ] {
        metrics::counter!(counter).increment(0);
    }
    describe_histogram!(
        BATCH_SECONDS,
        Unit::Seconds,
        "Duration of one log batch write to Postgres"
    );
}
