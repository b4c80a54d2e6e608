//! The load: chats sending numbered updates through the webhook as Telegram does (a non-2xx
//! answer is delivered again), and the verdict read from the fake Bot API's replies.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;

use crate::fake_telegram::FakeTelegram;

/// The secret the roles are started with.
pub(crate) const SECRET: &str = "chaos-secret";

/// What a run of load did.
#[derive(Debug, Default)]
pub(crate) struct Sent {
    /// (chat, seq) of every update acknowledged with 200, in acknowledgement order.
    pub(crate) acked: Vec<(i64, u32)>,
    /// Answers other than 200 (503 while Redis is away…), each followed by a redelivery.
    pub(crate) refused: u64,
}

/// The ticker-shaped tag that marks update `seq`: the reply names it.
fn tag(seq: u32) -> String {
    let mut s = String::from("Q");
    let mut n = seq;
    for _ in 0..4 {
        s.insert(1, (b'A' + (n % 26) as u8) as char);
        n /= 26;
    }
    s
}

fn seq_of(text: &str) -> Option<u32> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == 5 && w.starts_with('Q') && w[1..].chars().all(|c| c.is_ascii_uppercase()))
        .map(|w| w[1..].bytes().fold(0u32, |n, b| n * 26 + u32::from(b - b'A')))
}

/// `chats` chats each send `per_chat` updates, one after another, `pace` apart, until all are
/// acknowledged or `deadline` passes.
pub(crate) async fn send(
    webhook: &str,
    chats: usize,
    per_chat: u32,
    pace: Duration,
    deadline: Duration,
) -> Sent {
    let http = reqwest::Client::new();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + deadline;
    let mut tasks = Vec::new();
    for c in 0..chats {
        let (http, acked, refused, webhook) =
            (http.clone(), acked.clone(), refused.clone(), webhook.to_owned());
        tasks.push(tokio::spawn(async move {
            let chat = 8_000_000 + c as i64;
            for seq in 0..per_chat {
                // Telegram's update ids fit in 32 bits (teloxide reads them as u32).
                let update = json!({"update_id": (c as i64 + 1) * 10_000 + i64::from(seq),
                    "message": {"message_id": seq, "date": 0, "chat": {"id": chat, "type": "private"},
                    "from": {"id": chat, "is_bot": false, "first_name": "Load"},
                    "text": format!("/price {}", tag(seq))}});
                loop {
                    let answer = http
                        .post(&webhook)
                        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                        .json(&update)
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    if matches!(&answer, Ok(r) if r.status() == 200) {
                        acked.lock().unwrap().push((chat, seq));
                        break;
                    }
                    refused.fetch_add(1, Ordering::Relaxed);
                    if Instant::now() > until {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                tokio::time::sleep(pace).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("load task");
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    Sent {
        acked,
        refused: refused.load(Ordering::Relaxed),
    }
}

/// The verdict on a run.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub(crate) acked: usize,
    pub(crate) lost: usize,
    pub(crate) duplicates: usize,
    pub(crate) out_of_order: usize,
    pub(crate) refused: u64,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "acknowledged {} · lost {} · duplicate replies {} · out of order {} · refused (redelivered) {}",
            self.acked, self.lost, self.duplicates, self.out_of_order, self.refused
        )
    }
}

/// Waits (up to `within`) for a reply to every acknowledged update, then judges.
pub(crate) async fn judge(telegram: &FakeTelegram, sent: &Sent, within: Duration) -> Verdict {
    let until = Instant::now() + within;
    loop {
        let verdict = verdict(telegram, sent);
        if verdict.lost == 0 || Instant::now() > until {
            return verdict;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn verdict(telegram: &FakeTelegram, sent: &Sent) -> Verdict {
    let mut seen: HashMap<(i64, u32), usize> = HashMap::new();
    let mut last_first: HashMap<i64, u32> = HashMap::new();
    let mut out_of_order = 0;
    for reply in telegram.replies() {
        let Some(seq) = seq_of(&reply.text) else { continue };
        let count = seen.entry((reply.chat_id, seq)).or_default();
        *count += 1;
        if *count == 1 {
            if let Some(&prev) = last_first.get(&reply.chat_id)
                && prev > seq
            {
                out_of_order += 1;
            }
            last_first.insert(reply.chat_id, seq);
        }
    }
    let lost = sent.acked.iter().filter(|k| !seen.contains_key(k)).count();
    let duplicates = seen.values().map(|n| n - 1).sum();
    Verdict {
        acked: sent.acked.len(),
        lost,
        duplicates,
        out_of_order,
        refused: sent.refused,
    }
}

#[test]
fn tags_round_trip() {
    for seq in [0, 1, 25, 26, 675, 9_999] {
        assert_eq!(
            seq_of(&format!("I don't know the ticker {}.", tag(seq))),
            Some(seq)
        );
    }
    assert_eq!(seq_of("no tag here, AAPL"), None);
}
