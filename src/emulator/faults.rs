//! Faults on demand: 429 with retry_after, 5xx, slow answers and blocked users, for one chat or
//! for all, optionally for one method and a number of calls.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 "Too Many Requests: retry after N" with `parameters.retry_after`.
    RetryAfter {
        /// Seconds.
        retry_after: u64,
    },
    /// A 5xx answer (500, 502, 503, 504).
    ServerError {
        /// HTTP status.
        status: u16,
    },
    /// The answer comes this much later (then the call is answered normally).
    Slow {
        /// Delay in milliseconds.
        delay_ms: u64,
    },
    /// 403 "Forbidden: bot was blocked by the user".
    Blocked,
}

/// A fault and where it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What goes wrong.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Only calls about this chat; all chats when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<i64>,
    /// Only this method; all methods that concern a chat (or all, without `chat_id`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only the next N matching calls; until cleared when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl Fault {
    /// Checks the values a client sent.
    pub fn validate(&self) -> Result<(), String> {
        match self.kind {
            FaultKind::RetryAfter { retry_after } if retry_after == 0 || retry_after > 3600 => {
                Err("retry_after must be 1-3600 seconds".into())
            }
            FaultKind::ServerError { status } if !(500..=599).contains(&status) => {
                Err("status must be 500-599".into())
            }
            FaultKind::Slow { delay_ms } if delay_ms > 120_000 => {
                Err("delay_ms must be at most 120000".into())
            }
            _ if self.times == Some(0) => Err("times must be at least 1".into()),
            _ => Ok(()),
        }
    }

    fn applies(&self, method: &str, chat_id: Option<i64>) -> bool {
        self.method.as_deref().is_none_or(|m| m == method) && self.chat_id.is_none_or(|c| chat_id == Some(c))
    }
}

/// The error a faulty call answers with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaultAnswer {
    pub(crate) status: u16,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u64>,
}

/// The faults in force.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) list: Vec<Fault>,
}

impl Faults {
    /// What a call of `method` about `chat_id` meets: a delay first, then maybe an error. Counts
    /// down the faults that matched.
    pub(crate) fn hit(&mut self, method: &str, chat_id: Option<i64>) -> (Duration, Option<FaultAnswer>) {
        let mut delay = Duration::ZERO;
        let mut answer = None;
        for fault in self.list.iter_mut().filter(|f| f.applies(method, chat_id)) {
            let used = match &fault.kind {
                FaultKind::Slow { delay_ms } => {
                    delay += Duration::from_millis(*delay_ms);
                    true
                }
                _ if answer.is_some() => false,
                FaultKind::RetryAfter { retry_after } => {
                    answer = Some(FaultAnswer {
                        status: 429,
                        description: format!("Too Many Requests: retry after {retry_after}"),
                        retry_after: Some(*retry_after),
                    });
                    true
                }
                FaultKind::ServerError { status } => {
                    answer = Some(FaultAnswer {
                        status: *status,
                        description: match status {
                            502 => "Bad Gateway".into(),
                            503 => "Service Unavailable".into(),
                            504 => "Gateway Timeout".into(),
                            _ => "Internal Server Error".into(),
                        },
                        retry_after: None,
                    });
                    true
                }
                FaultKind::Blocked => {
                    answer = Some(FaultAnswer {
                        status: 403,
                        description: "Forbidden: bot was blocked by the user".into(),
                        retry_after: None,
                    });
                    true
                }
            };
            if used && let Some(n) = fault.times.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
        self.list.retain(|f| f.times != Some(0));
        (delay, answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(kind: FaultKind, chat_id: Option<i64>, times: Option<u32>) -> Fault {
        Fault {
            kind,
            chat_id,
            method: None,
            times,
        }
    }

    #[test]
    fn a_counted_fault_wears_off_and_a_chat_fault_spares_other_chats() {
        let mut faults = Faults::default();
        faults
            .list
            .push(fault(FaultKind::RetryAfter { retry_after: 3 }, Some(5), Some(2)));
        assert_eq!(faults.hit("sendMessage", Some(6)).1, None);
        let (_, answer) = faults.hit("sendMessage", Some(5));
        assert_eq!(answer.unwrap().retry_after, Some(3));
        assert!(faults.hit("sendMessage", Some(5)).1.is_some());
        assert_eq!(faults.hit("sendMessage", Some(5)).1, None, "two times only");
        assert!(faults.list.is_empty());
    }

    #[test]
    fn slow_adds_a_delay_and_the_first_error_wins() {
        let mut faults = Faults::default();
        faults
            .list
            .push(fault(FaultKind::Slow { delay_ms: 300 }, None, None));
        faults.list.push(fault(FaultKind::Blocked, Some(9), None));
        faults
            .list
            .push(fault(FaultKind::ServerError { status: 502 }, None, None));
        let (delay, answer) = faults.hit("sendMessage", Some(9));
        assert_eq!(delay, Duration::from_millis(300));
        assert_eq!(answer.unwrap().status, 403);
        assert_eq!(faults.hit("getMe", None).1.unwrap().status, 502);
    }

    #[test]
    fn nonsense_values_are_refused() {
        assert!(
            fault(FaultKind::RetryAfter { retry_after: 0 }, None, None)
                .validate()
                .is_err()
        );
        assert!(
            fault(FaultKind::ServerError { status: 404 }, None, None)
                .validate()
                .is_err()
        );
        assert!(fault(FaultKind::Blocked, None, Some(0)).validate().is_err());
        assert!(fault(FaultKind::Blocked, Some(1), Some(1)).validate().is_ok());
    }
}
