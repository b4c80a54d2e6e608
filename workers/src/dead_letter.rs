//! Dead letters: what they hold, and the operator API over any [`Broker`] (list, show, replay,
//! purge, stats). Backends store and move dead letters; filtering and paging live here, once.
//!
//! Filters scan the whole dead-letter queue in chunks. That is O(n) per call, which suits an
//! operator tool over a queue that should stay small; a large DLQ is an incident in itself.

use std::{collections::BTreeMap, time::Duration};

use crate::{Broker, BrokerError, Lane, Replayed};

/// Ids fetched per round trip while scanning.
const CHUNK: usize = 500;

/// A job that will not run again unless replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The job's id.
    pub id: String,
    /// The job's kind.
    pub kind: String,
    /// The lane it was queued in.
    pub lane: Lane,
    /// Its ordering key.
    pub key: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// The last error text.
    pub error: String,
    /// Why it died: `permanent`, `retries_exhausted`, `panic`, `lease_expired` or
    /// `deferred_too_long`.
    pub class: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it was queued, ms since the epoch.
    pub enqueued_at_ms: u64,
    /// Start of the first attempt, ms since the epoch.
    pub first_attempt_at_ms: u64,
    /// Start of the last attempt, ms since the epoch.
    pub last_attempt_at_ms: u64,
    /// When it was dead-lettered, ms since the epoch.
    pub dead_at_ms: u64,
    /// Ids it had before, oldest first, if it was replayed already.
    pub replayed_from: Vec<String>,
}

/// Which dead letters a list, replay or purge applies to. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct DeadLetterFilter {
    /// Only this lane.
    pub lane: Option<Lane>,
    /// Only this error class.
    pub class: Option<String>,
    /// Only those whose error text contains this (case-insensitive).
    pub text: Option<String>,
    /// Only those dead for at least this long.
    pub older_than: Option<Duration>,
    /// Only those dead for at most this long.
    pub newer_than: Option<Duration>,
}

impl DeadLetterFilter {
    /// Whether `letter` matches at `now_ms`.
    pub fn matches(&self, letter: &DeadLetter, now_ms: u64) -> bool {
        let age = Duration::from_millis(now_ms.saturating_sub(letter.dead_at_ms));
        self.lane.is_none_or(|l| l == letter.lane)
            && self.class.as_deref().is_none_or(|c| c == letter.class)
            && self
                .text
                .as_deref()
                .is_none_or(|t| letter.error.to_lowercase().contains(&t.to_lowercase()))
            && self.older_than.is_none_or(|d| age >= d)
            && self.newer_than.is_none_or(|d| age <= d)
    }
}

/// What a replay or purge applies to.
#[derive(Debug, Clone)]
pub enum Selection {
    /// These ids.
    Ids(Vec<String>),
    /// Those matching the filter.
    Matching(DeadLetterFilter),
    /// Every dead letter.
    All,
}

/// One page of a listing, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeadLetterPage {
    /// The dead letters on this page.
    pub items: Vec<DeadLetter>,
    /// How many match the filter in total.
    pub total: usize,
    /// Offset of the next page, if there is one.
    pub next_offset: Option<usize>,
}

/// Counts over the whole dead-letter queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterStats {
    /// Dead letters stored.
    pub total: usize,
    /// Count per lane name.
    pub by_lane: BTreeMap<String, usize>,
    /// Count per error class.
    pub by_class: BTreeMap<String, usize>,
    /// Time of death of the oldest, ms since the epoch.
    pub oldest_dead_at_ms: Option<u64>,
    /// Time of death of the newest, ms since the epoch.
    pub newest_dead_at_ms: Option<u64>,
}

/// What a purge selected and removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// The selected dead letters' ids, newest first. One removed meanwhile by someone else is
    /// still listed: it was selected, and it is gone.
    pub ids: Vec<String>,
    /// How many of them this purge removed (with `dry_run`: would remove).
    pub removed: usize,
}

/// The dead-letter API over a broker.
#[derive(Debug, Clone)]
pub struct DeadLetters<B> {
    broker: B,
}

impl<B: Broker> DeadLetters<B> {
    /// Dead letters of `broker`.
    pub fn new(broker: B) -> Self {
        Self { broker }
    }

    /// Every dead letter matching `filter`, newest first.
    async fn matching(&self, filter: &DeadLetterFilter) -> Result<Vec<DeadLetter>, BrokerError> {
        let now = self.broker.clock().now_ms();
        let mut index = self.broker.dead_letter_index().await?;
        index.reverse();
        let mut out = Vec::new();
        for chunk in index.chunks(CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
            let letters = self.broker.dead_letters(&ids).await?;
            out.extend(letters.into_iter().filter(|l| filter.matches(l, now)));
        }
        Ok(out)
    }

    async fn select(&self, selection: &Selection) -> Result<Vec<String>, BrokerError> {
        Ok(match selection {
            Selection::Ids(ids) => {
                let found = self.broker.dead_letters(ids).await?;
                found.into_iter().map(|l| l.id).collect()
            }
            Selection::Matching(filter) => self.matching(filter).await?.into_iter().map(|l| l.id).collect(),
            Selection::All => self
                .broker
                .dead_letter_index()
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
        })
    }

    /// A page of dead letters matching `filter`, newest first.
    pub async fn list(
        &self,
        filter: &DeadLetterFilter,
        offset: usize,
        limit: usize,
    ) -> Result<DeadLetterPage, BrokerError> {
        let all = self.matching(filter).await?;
        let total = all.len();
        let items: Vec<DeadLetter> = all.into_iter().skip(offset).take(limit).collect();
        let end = offset + items.len();
        Ok(DeadLetterPage {
            items,
            total,
            next_offset: (end < total).then_some(end),
        })
    }

    /// One dead letter.
    pub async fn show(&self, id: &str) -> Result<Option<DeadLetter>, BrokerError> {
        Ok(self.broker.dead_letters(&[id.to_owned()]).await?.pop())
    }

    /// Queues the selected dead letters again (in their lane, or `lane`), under new ids that
    /// remember the old ones. Each leaves the dead-letter queue as it is queued.
    pub async fn replay(
        &self,
        selection: &Selection,
        lane: Option<Lane>,
    ) -> Result<Vec<Replayed>, BrokerError> {
        let ids = self.select(selection).await?;
        let mut out = Vec::with_capacity(ids.len());
        // Oldest first, so a key's replayed jobs keep their original order.
        let mut ids = ids;
        ids.reverse();
        for chunk in ids.chunks(CHUNK) {
            out.extend(self.broker.replay_dead_letters(chunk, lane).await?);
        }
        Ok(out)
    }

    /// Deletes the selected dead letters, or with `dry_run` only counts them.
    pub async fn purge(&self, selection: &Selection, dry_run: bool) -> Result<usize, BrokerError> {
        Ok(self.purge_listed(selection, dry_run).await?.removed)
    }

    /// Like [`purge`](Self::purge), and names the dead letters selected, for an audit trail.
    pub async fn purge_listed(&self, selection: &Selection, dry_run: bool) -> Result<Purged, BrokerError> {
        let ids = self.select(selection).await?;
        if dry_run {
            return Ok(Purged {
                removed: ids.len(),
                ids,
            });
        }
        let mut removed = 0;
        for chunk in ids.chunks(CHUNK) {
            removed += self.broker.remove_dead_letters(chunk).await?;
        }
        Ok(Purged { ids, removed })
    }

    /// Counts by lane and class, and the oldest and newest time of death.
    pub async fn stats(&self) -> Result<DeadLetterStats, BrokerError> {
        let all = self.matching(&DeadLetterFilter::default()).await?;
        let mut stats = DeadLetterStats {
            total: all.len(),
            ..Default::default()
        };
        for letter in &all {
            *stats.by_lane.entry(letter.lane.to_string()).or_default() += 1;
            *stats.by_class.entry(letter.class.clone()).or_default() += 1;
            stats.oldest_dead_at_ms = Some(
                stats
                    .oldest_dead_at_ms
                    .map_or(letter.dead_at_ms, |o| o.min(letter.dead_at_ms)),
            );
            stats.newest_dead_at_ms = Some(
                stats
                    .newest_dead_at_ms
                    .map_or(letter.dead_at_ms, |o| o.max(letter.dead_at_ms)),
            );
        }
        Ok(stats)
    }
}
