//! What a failed Postgres write means: unavailable (spool, tell the user), a lost race (run it
//! again) or refused (the rows themselves are bad), by error kind and SQLSTATE.

/// What a failed write means for the rows in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Postgres cannot be reached or cannot take writes now (connection lost, failover in
    /// progress, shutting down, out of resources, statement timeout): spool and try later.
    Unavailable,
    /// The transaction lost a race (deadlock 40P01, serialization failure 40001): running the
    /// same batch again succeeds, so it is retried at once, never spooled.
    Transient,
    /// Postgres refused the rows themselves (constraint, type, value): retrying unchanged would
    /// fail forever, so the bad rows are isolated and kept aside.
    Refused,
}

/// Classifies a write error by its kind and, for database errors, its SQLSTATE.
pub fn classify(error: &sqlx::Error) -> Failure {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Failure::Unavailable,
        sqlx::Error::Database(db) => db
            .code()
            .map_or(Failure::Refused, |code| classify_sqlstate(&code)),
        _ => Failure::Refused,
    }
}

/// Classifies a SQLSTATE (Postgres appendix A).
pub fn classify_sqlstate(code: &str) -> Failure {
    match code {
        // Deadlock detected, serialization failure: the other transaction won; ours may run again.
        "40P01" | "40001" => Failure::Transient,
        // Query canceled: our statement_timeout fired on a hung or overloaded server.
        "57014" => Failure::Unavailable,
        // 08: connection exception; 25: invalid transaction state (e.g. 25006 read-only
        // transaction while a failover promotes a replica); 53: insufficient resources;
        // 57P0x: admin/crash shutdown, cannot connect now.
        _ if code.starts_with("08")
            || code.starts_with("25")
            || code.starts_with("53")
            || code.starts_with("57P") =>
        {
            Failure::Unavailable
        }
        // Everything else (other class 40 codes included, e.g. 40002 integrity violation at
        // commit) is about the rows.
        _ => Failure::Refused,
    }
}

/// Whether an error means "Postgres is unreachable right now" (spool and retry later) rather than
/// "this batch cannot be written" (a row is bad; retrying it unchanged would fail forever).
/// Deadlocks and serialization failures are neither: [`super::batch::write_rows`] retries them itself, and one
/// that outlasts its retries counts as unavailable so the rows are spooled, never rejected.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(classify(error), Failure::Unavailable | Failure::Transient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_are_classified_unavailable_transient_or_refused() {
        let table = [
            // connection exceptions
            ("08000", Failure::Unavailable),
            ("08006", Failure::Unavailable),
            ("08P01", Failure::Unavailable),
            // invalid transaction state: a read-only transaction during failover
            ("25006", Failure::Unavailable),
            ("25P02", Failure::Unavailable),
            // insufficient resources
            ("53300", Failure::Unavailable),
            // operator intervention: shutdowns, cannot connect now, statement timeout
            ("57P01", Failure::Unavailable),
            ("57P02", Failure::Unavailable),
            ("57P03", Failure::Unavailable),
            ("57014", Failure::Unavailable),
            // lost races: run again
            ("40P01", Failure::Transient),
            ("40001", Failure::Transient),
            // the rows themselves
            ("40002", Failure::Refused),
            ("40003", Failure::Refused),
            ("23505", Failure::Refused),
            ("23502", Failure::Refused),
            ("22P02", Failure::Refused),
            ("22021", Failure::Refused),
            ("42P01", Failure::Refused),
        ];
        for (code, expected) in table {
            assert_eq!(classify_sqlstate(code), expected, "SQLSTATE {code}");
        }
    }

    #[test]
    fn transport_errors_are_unavailable_and_lost_races_are_not_refused() {
        let io = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
        assert_eq!(classify(&io), Failure::Unavailable);
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), Failure::Unavailable);
        assert_eq!(classify(&sqlx::Error::RowNotFound), Failure::Refused);
        assert!(is_unavailable(&io));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
    }
}
