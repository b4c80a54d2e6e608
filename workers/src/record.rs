//! The stored form of a queued job: one byte string per job, shared by both backends.
//!
//! Layout: `lane|due_ms|id|kind|enqueued_ms|replayed_from|payload`. The header is plain text so
//! the Lua scripts read the lane and due time with one `string.sub`/`string.match`, without a JSON
//! decoder (cjson would cost redis-server CPU on every job). The payload comes last, so it may hold
//! any bytes, `|` included; ids and kinds may not (checked at enqueue).

use crate::{BrokerError, Job, Lane};

/// A job as it waits in its key's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) lane: Lane,
    pub(crate) due_ms: u64,
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) enqueued_at_ms: u64,
    /// Earlier ids, comma separated in the stored form.
    pub(crate) replayed_from: Vec<String>,
    pub(crate) payload: Vec<u8>,
}

/// Whether `s` may appear in a record header (ids, kinds): no separators, not empty.
pub(crate) fn is_header_safe(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && !s.bytes().any(|b| b == b'|' || b == b',' || b.is_ascii_control())
}

impl Record {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let header = format!(
            "{}|{}|{}|{}|{}|",
            self.lane.code() as char,
            self.due_ms,
            self.id,
            self.kind,
            self.enqueued_at_ms,
        );
        let tail = Self::tail(&self.replayed_from, &self.payload);
        let mut out = Vec::with_capacity(header.len() + tail.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&tail);
        out
    }

    /// The record's last fields, `history|payload`; the Redis enqueue script puts the times in
    /// front of them (its own clock's).
    pub(crate) fn tail(replayed_from: &[String], payload: &[u8]) -> Vec<u8> {
        let history = replayed_from.join(",");
        let mut out = Vec::with_capacity(history.len() + 1 + payload.len());
        out.extend_from_slice(history.as_bytes());
        out.push(b'|');
        out.extend_from_slice(payload);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, BrokerError> {
        let corrupt = |what: &str| BrokerError::Corrupt(format!("job record: {what}"));
        let mut fields = bytes.splitn(7, |b| *b == b'|');
        let mut text = |name: &str| -> Result<&str, BrokerError> {
            let field = fields.next().ok_or_else(|| corrupt(&format!("missing {name}")))?;
            std::str::from_utf8(field).map_err(|_| corrupt(&format!("{name} is not UTF-8")))
        };
        let lane = text("lane")?;
        let lane = Lane::from_code(lane.bytes().next().unwrap_or(0)).ok_or_else(|| corrupt("lane"))?;
        let due_ms = text("due")?.parse().map_err(|_| corrupt("due"))?;
        let id = text("id")?.to_owned();
        let kind = text("kind")?.to_owned();
        let enqueued_at_ms = text("enqueued")?.parse().map_err(|_| corrupt("enqueued"))?;
        let history = text("history")?;
        let replayed_from = if history.is_empty() {
            Vec::new()
        } else {
            history.split(',').map(str::to_owned).collect()
        };
        let payload = fields.next().ok_or_else(|| corrupt("missing payload"))?.to_vec();
        Ok(Self {
            lane,
            due_ms,
            id,
            kind,
            enqueued_at_ms,
            replayed_from,
            payload,
        })
    }

    /// The job a handler sees for this record at attempt `attempts`.
    pub(crate) fn into_job(
        self,
        key: String,
        attempts: u32,
        first_ms: u64,
        leased_ms: u64,
        token: u64,
    ) -> Job {
        Job {
            id: self.id,
            kind: self.kind,
            lane: self.lane,
            key,
            payload: self.payload,
            attempts,
            enqueued_at_ms: self.enqueued_at_ms,
            first_attempt_at_ms: first_ms,
            leased_at_ms: leased_ms,
            replayed_from: self.replayed_from,
            token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_with_separators_in_the_payload() {
        let record = Record {
            lane: Lane::Low,
            due_ms: 17,
            id: "abc".into(),
            kind: "telegram_update".into(),
            enqueued_at_ms: 12,
            replayed_from: vec!["x".into(), "y".into()],
            payload: b"a|b,c\n|".to_vec(),
        };
        assert_eq!(Record::decode(&record.encode()).unwrap(), record);
        let bare = Record {
            replayed_from: vec![],
            payload: vec![],
            ..record
        };
        assert_eq!(Record::decode(&bare.encode()).unwrap(), bare);
    }

    #[test]
    fn header_fields_reject_separators() {
        assert!(is_header_safe("100000001"));
        assert!(!is_header_safe("a|b"));
        assert!(!is_header_safe("a,b"));
        assert!(!is_header_safe(""));
    }
}
