//! [`ProducerStateTable`]: what one partition knows about its idempotent producers — for
//! each producer id its epoch and its last [`CACHED_BATCHES`] batches — and the checks
//! Kafka's ProducerStateManager makes before a producer's batch is appended as leader.
//! Pure: no I/O, time is passed in. Snapshots and replay are in `producer_snapshot.rs`
//! and `log/producers.rs`.
//!
//! The leader's checks, per batch, in request order ([`ProducerStateTable::check`]):
//! - no state for the producer (never seen, expired, evicted, or lost with retention):
//!   accepted at any sequence, as Kafka does, since state can be lost;
//! - epoch older than the producer's: `InvalidProducerEpoch`;
//! - epoch newer: the batch must start at sequence 0, else `OutOfOrderSequence`;
//! - same epoch: a batch whose (first, last) sequence equals one of the cached batches is
//!   a duplicate (not appended; the append answers with the original offsets); any other
//!   batch must start right after the newest cached batch (sequences wrap from
//!   `i32::MAX` to 0), else `OutOfOrderSequence`.
//!
//! Followers and replay use [`ProducerStateTable::update`], which never refuses: the
//! leader's log is the truth, and a follower that becomes leader knows every producer.
//!
//! Bounds: at most `max_producers` entries (the least recently appended go first) and
//! entries idle for `producer.id.expiration.ms` expire; each entry holds at most
//! [`CACHED_BATCHES`] batches. Forgetting a producer only ever costs deduplication of its
//! retries, never a false refusal (no state accepts any sequence).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rill_types::{Offset, ProducerId};

use crate::batch::BatchHeader;
use crate::error::{Result, StorageError};

/// Batches remembered per producer: Kafka's idempotent producer has at most 5 requests
/// in flight per partition, so a retry is always of one of its last 5 batches.
pub const CACHED_BATCHES: usize = 5;

/// Producers remembered per partition by default: about 180 bytes each in memory and in
/// a snapshot, so under 2 MB per partition at the bound.
pub const MAX_PRODUCERS: usize = 10_000;

/// The producer facts of one batch: who wrote it, its sequence range and its offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    /// The producer (never [`ProducerId::NONE`]).
    pub producer_id: ProducerId,
    /// The producer's epoch.
    pub epoch: i16,
    /// What is remembered of the batch.
    pub meta: BatchMetadata,
}

/// What is remembered of one batch of a producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    /// Sequence number of the first record.
    pub first_seq: i32,
    /// Sequence number of the last record.
    pub last_seq: i32,
    /// Offset of the first record.
    pub first_offset: Offset,
    /// Offset of the last record.
    pub last_offset: Offset,
    /// The batch's max timestamp (its append time on LogAppendTime topics).
    pub max_timestamp: i64,
}

impl ProducerBatch {
    /// The producer facts of `header` were it stored at `base_offset`; `None` for a
    /// batch without a producer id (not idempotent) and for control batches (markers
    /// carry no sequence).
    pub fn of(header: &BatchHeader, base_offset: Offset) -> Option<Self> {
        if !header.producer_id.is_some() || header.is_control() {
            return None;
        }
        let delta = header.last_offset_delta.max(0);
        Some(Self {
            producer_id: header.producer_id,
            epoch: header.producer_epoch,
            meta: BatchMetadata {
                first_seq: header.base_sequence,
                last_seq: increment_sequence(header.base_sequence, delta),
                first_offset: base_offset,
                last_offset: Offset::new(base_offset.get().saturating_add(i64::from(delta))),
                max_timestamp: header.max_timestamp,
            },
        })
    }
}

/// `seq` plus `by` (≥ 0) with Kafka's wraparound: after `i32::MAX` comes 0.
pub fn increment_sequence(seq: i32, by: i32) -> i32 {
    if seq > i32::MAX - by {
        by - (i32::MAX - seq) - 1
    } else {
        seq + by
    }
}

/// Whether `next` is the sequence right after `last`.
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// One producer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    /// The producer's current epoch.
    pub epoch: i16,
    /// Its last batches in this epoch, oldest first: never empty, at most
    /// [`CACHED_BATCHES`].
    pub batches: VecDeque<BatchMetadata>,
    /// When it last appended (ms, the log's clock), for expiry and eviction.
    pub last_timestamp: i64,
}

impl ProducerEntry {
    fn push(&mut self, meta: BatchMetadata) {
        if self.batches.len() == CACHED_BATCHES {
            self.batches.pop_front();
        }
        self.batches.push_back(meta);
    }

    /// The cached batch with `batch`'s sequence range in `batch`'s epoch, if any.
    fn duplicate_of(&self, batch: &ProducerBatch) -> Option<BatchMetadata> {
        (self.epoch == batch.epoch)
            .then(|| {
                self.batches.iter().find(|m| {
                    m.first_seq == batch.meta.first_seq && m.last_seq == batch.meta.last_seq
                })
            })
            .flatten()
            .copied()
    }

    /// The leader's checks for a batch that is not a duplicate.
    fn check_next(&self, batch: &ProducerBatch) -> Result<()> {
        let refuse = |reason: String| StorageError::OutOfOrderSequence {
            producer_id: batch.producer_id,
            epoch: batch.epoch,
            reason,
        };
        if batch.epoch < self.epoch {
            return Err(StorageError::InvalidProducerEpoch {
                producer_id: batch.producer_id,
                epoch: batch.epoch,
                current: self.epoch,
            });
        }
        let first = batch.meta.first_seq;
        if batch.epoch > self.epoch {
            if first != 0 {
                return Err(refuse(format!(
                    "a new epoch (after {}) must start at sequence 0, not {first}",
                    self.epoch
                )));
            }
            return Ok(());
        }
        let last = self.batches.back().map_or(-1, |m| m.last_seq);
        if !in_sequence(last, first) {
            return Err(refuse(format!(
                "expected sequence {}, got {first}",
                increment_sequence(last, 1)
            )));
        }
        Ok(())
    }

    fn apply(&mut self, batch: &ProducerBatch) {
        if batch.epoch != self.epoch {
            self.epoch = batch.epoch;
            self.batches.clear();
        }
        self.push(batch.meta);
    }
}

/// What the leader's check decided for a whole append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every batch may be appended.
    Append,
    /// Every batch was appended before: nothing is appended, and the append answers with
    /// the first offset of the first and the last offset of the last original.
    Duplicate {
        /// The first offset of the first original batch.
        first_offset: Offset,
        /// The last offset of the last original batch.
        last_offset: Offset,
        /// The largest max timestamp of the originals.
        max_timestamp: i64,
    },
}

/// Every idempotent producer of one partition. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerStateTable {
    producers: BTreeMap<ProducerId, ProducerEntry>,
    /// (last timestamp, producer) of every entry, oldest first: expiry and eviction.
    by_age: BTreeSet<(i64, ProducerId)>,
    max_producers: usize,
    expiration_ms: i64,
}

impl ProducerStateTable {
    /// An empty table holding at most `max_producers` (at least 1) producers, each for
    /// at most `expiration_ms` after its last append.
    pub fn new(max_producers: usize, expiration_ms: i64) -> Self {
        Self {
            producers: BTreeMap::new(),
            by_age: BTreeSet::new(),
            max_producers: max_producers.max(1),
            expiration_ms,
        }
    }

    /// Number of producers known.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Whether no producer is known.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// The state of `producer_id`, if known.
    pub fn get(&self, producer_id: ProducerId) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every producer's state, by producer id.
    pub fn entries(&self) -> impl Iterator<Item = (ProducerId, &ProducerEntry)> {
        self.producers.iter().map(|(id, e)| (*id, e))
    }

    /// Forgets every producer.
    pub fn clear(&mut self) {
        self.producers.clear();
        self.by_age.clear();
    }

    /// Changes the expiry (a new `producer.id.expiration.ms`).
    pub fn set_expiration_ms(&mut self, expiration_ms: i64) {
        self.expiration_ms = expiration_ms;
    }

    /// Forgets producers whose last append is `producer.id.expiration.ms` or more before
    /// `now_ms`. Returns how many went.
    pub fn expire(&mut self, now_ms: i64) -> usize {
        let mut expired = 0;
        while let Some(&(last, id)) = self.by_age.first()
            && now_ms.saturating_sub(last) >= self.expiration_ms
        {
            self.by_age.pop_first();
            self.producers.remove(&id);
            expired += 1;
        }
        expired
    }

    /// The leader's checks for one append: `batches` has one item per batch of the
    /// request, in order (`None` for a batch without a producer id), with the offsets
    /// each would get. A batch is checked against the state the earlier batches of the
    /// same request leave. Nothing changes here; after the write, [`Self::update`] each.
    ///
    /// An append is all new or all duplicates: a request mixing retried batches with new
    /// ones is refused whole (`OutOfOrderSequence`), since answering it with one offset
    /// range would be a lie for part of it. Kafka's producer never sends one: a produce
    /// request carries one batch per partition.
    pub fn check(&self, batches: &[Option<ProducerBatch>]) -> Result<Verdict> {
        // Entries as the earlier batches of this request leave them.
        let mut pending: BTreeMap<ProducerId, ProducerEntry> = BTreeMap::new();
        let mut duplicate: Option<(Offset, Offset, i64)> = None;
        let mut duplicates = 0;
        for batch in batches.iter().flatten() {
            let id = batch.producer_id;
            let current = pending.get(&id).or_else(|| self.producers.get(&id));
            if let Some(original) = current.and_then(|e| e.duplicate_of(batch)) {
                duplicates += 1;
                let (first, last, ts) = duplicate.get_or_insert((
                    original.first_offset,
                    original.last_offset,
                    original.max_timestamp,
                ));
                *first = (*first).min(original.first_offset);
                *last = (*last).max(original.last_offset);
                *ts = (*ts).max(original.max_timestamp);
                continue;
            }
            if let Some(entry) = current {
                entry.check_next(batch)?;
            }
            let mut next = current.cloned().unwrap_or_else(|| ProducerEntry {
                epoch: batch.epoch,
                batches: VecDeque::new(),
                last_timestamp: 0,
            });
            next.apply(batch);
            pending.insert(id, next);
        }
        match duplicate {
            None => Ok(Verdict::Append),
            Some((first_offset, last_offset, max_timestamp)) if duplicates == batches.len() => {
                Ok(Verdict::Duplicate {
                    first_offset,
                    last_offset,
                    max_timestamp,
                })
            }
            Some(_) => {
                let batch = batches.iter().flatten().next().expect("a duplicate exists");
                Err(StorageError::OutOfOrderSequence {
                    producer_id: batch.producer_id,
                    epoch: batch.epoch,
                    reason: format!(
                        "{duplicates} of the request's {} batches were appended before: \
                         retry them alone",
                        batches.len()
                    ),
                })
            }
        }
    }

    /// Records that `batch` is in the log, appended at `timestamp` (ms), without any
    /// check: a new epoch replaces the cached batches. Then evicts the least recently
    /// appended producers beyond the bound.
    pub fn update(&mut self, batch: &ProducerBatch, timestamp: i64) {
        let id = batch.producer_id;
        let entry = match self.producers.remove(&id) {
            Some(mut entry) => {
                self.by_age.remove(&(entry.last_timestamp, id));
                entry.apply(batch);
                entry.last_timestamp = timestamp;
                entry
            }
            None => ProducerEntry {
                epoch: batch.epoch,
                batches: VecDeque::from([batch.meta]),
                last_timestamp: timestamp,
            },
        };
        self.insert(id, entry);
    }

    /// Puts back an entry read from a snapshot (replacing any for the same id). Entries
    /// without batches are ignored (a table never holds one); of more than
    /// [`CACHED_BATCHES`] the newest are kept.
    pub fn restore(&mut self, producer_id: ProducerId, mut entry: ProducerEntry) {
        if entry.batches.is_empty() {
            return;
        }
        while entry.batches.len() > CACHED_BATCHES {
            entry.batches.pop_front();
        }
        if let Some(old) = self.producers.remove(&producer_id) {
            self.by_age.remove(&(old.last_timestamp, producer_id));
        }
        self.insert(producer_id, entry);
    }

    /// Adds an entry not in the table, then evicts the least recently appended producers
    /// beyond the bound (ties: the smallest id first).
    fn insert(&mut self, producer_id: ProducerId, entry: ProducerEntry) {
        self.by_age.insert((entry.last_timestamp, producer_id));
        self.producers.insert(producer_id, entry);
        while self.producers.len() > self.max_producers {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.producers.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: ProducerId = ProducerId::new(7);

    /// Producer `P`'s batch of `count` records from sequence `seq` at `offset`.
    fn batch(epoch: i16, seq: i32, count: i32, offset: i64) -> ProducerBatch {
        ProducerBatch {
            producer_id: P,
            epoch,
            meta: BatchMetadata {
                first_seq: seq,
                last_seq: increment_sequence(seq, count - 1),
                first_offset: Offset::new(offset),
                last_offset: Offset::new(offset + i64::from(count) - 1),
                max_timestamp: offset,
            },
        }
    }

    fn table() -> ProducerStateTable {
        ProducerStateTable::new(MAX_PRODUCERS, 1_000)
    }

    fn check(table: &ProducerStateTable, b: ProducerBatch) -> Result<Verdict> {
        table.check(&[Some(b)])
    }

    /// `n` batches of 2 records each (sequences 0-1, 2-3, ...) at offsets 100, 102, ...
    fn with_batches(n: i32) -> (ProducerStateTable, Vec<ProducerBatch>) {
        let mut t = table();
        let batches: Vec<_> = (0..n)
            .map(|i| batch(0, 2 * i, 2, 100 + 2 * i64::from(i)))
            .collect();
        for b in &batches {
            assert_eq!(check(&t, *b).unwrap(), Verdict::Append);
            t.update(b, 0);
        }
        (t, batches)
    }

    #[test]
    fn a_retry_of_each_of_the_last_five_batches_gets_its_original_offsets() {
        let (t, batches) = with_batches(8);
        for original in &batches[3..] {
            // The retry's own offsets (where it would go) do not matter.
            let retry = ProducerBatch {
                meta: BatchMetadata {
                    first_offset: Offset::new(999),
                    last_offset: Offset::new(1000),
                    ..original.meta
                },
                ..*original
            };
            assert_eq!(
                check(&t, retry).unwrap(),
                Verdict::Duplicate {
                    first_offset: original.meta.first_offset,
                    last_offset: original.meta.last_offset,
                    max_timestamp: original.meta.max_timestamp,
                }
            );
        }
        // The sixth-newest is forgotten: it is out of sequence now.
        let err = check(&t, batches[2]).unwrap_err();
        assert!(
            matches!(err, StorageError::OutOfOrderSequence { .. }),
            "{err}"
        );
        assert_eq!(t.get(P).unwrap().batches.len(), CACHED_BATCHES);
    }

    #[test]
    fn a_gap_is_out_of_order_and_the_next_sequence_is_accepted() {
        let (t, _) = with_batches(2); // sequences 0..=3
        let err = check(&t, batch(0, 5, 1, 200)).unwrap_err();
        assert!(
            err.to_string().contains("expected sequence 4, got 5"),
            "{err}"
        );
        // A batch overlapping a cached one without matching it is no duplicate either.
        assert!(check(&t, batch(0, 2, 1, 200)).is_err());
        assert_eq!(check(&t, batch(0, 4, 3, 200)).unwrap(), Verdict::Append);
    }

    #[test]
    fn an_older_epoch_is_fenced_and_a_newer_one_must_start_at_zero() {
        let mut t = table();
        t.update(&batch(3, 0, 2, 0), 0);
        let err = check(&t, batch(2, 2, 1, 2)).unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::InvalidProducerEpoch {
                    epoch: 2,
                    current: 3,
                    ..
                }
            ),
            "{err}"
        );
        // A retry from the older epoch is fenced too, not answered as a duplicate.
        assert!(check(&t, batch(2, 0, 2, 2)).is_err());
        let err = check(&t, batch(4, 2, 1, 2)).unwrap_err();
        assert!(
            matches!(err, StorageError::OutOfOrderSequence { epoch: 4, .. }),
            "{err}"
        );
        assert_eq!(check(&t, batch(4, 0, 1, 2)).unwrap(), Verdict::Append);
        t.update(&batch(4, 0, 1, 2), 0);
        // The new epoch replaced the old epoch's batches.
        assert_eq!(t.get(P).unwrap().batches.len(), 1);
        assert!(matches!(
            check(&t, batch(3, 2, 1, 3)),
            Err(StorageError::InvalidProducerEpoch { current: 4, .. })
        ));
    }

    #[test]
    fn an_unknown_producer_is_accepted_at_any_sequence() {
        let t = table();
        assert_eq!(check(&t, batch(5, 12_345, 3, 0)).unwrap(), Verdict::Append);
        // So is a batch without a producer id, whatever the state.
        assert_eq!(t.check(&[None, None]).unwrap(), Verdict::Append);
    }

    #[test]
    fn sequences_wrap_from_max_to_zero() {
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(increment_sequence(5, 0), 5);
        let mut t = table();
        t.update(&batch(0, i32::MAX - 1, 2, 0), 0); // last sequence i32::MAX
        assert_eq!(check(&t, batch(0, 0, 1, 2)).unwrap(), Verdict::Append);
        assert!(check(&t, batch(0, 1, 1, 2)).is_err());
        // A batch spanning the wrap: MAX, 0, 1; the next starts at 2.
        let spanning = batch(0, i32::MAX, 3, 2);
        assert_eq!(spanning.meta.last_seq, 1);
        let mut t = table();
        t.update(&batch(0, i32::MAX - 1, 1, 0), 0);
        assert_eq!(check(&t, spanning).unwrap(), Verdict::Append);
        t.update(&spanning, 0);
        assert_eq!(check(&t, batch(0, 2, 1, 5)).unwrap(), Verdict::Append);
        assert!(matches!(
            check(&t, spanning).unwrap(),
            Verdict::Duplicate { .. }
        ));
    }

    #[test]
    fn one_request_is_checked_in_order_and_all_new_or_all_duplicates() {
        let (t, batches) = with_batches(3); // sequences 0..=5 at offsets 100..=105
        // Two new batches in order pass; the second is checked against the first.
        let next = [Some(batch(0, 6, 1, 106)), None, Some(batch(0, 7, 2, 107))];
        assert_eq!(t.check(&next).unwrap(), Verdict::Append);
        let gap = [Some(batch(0, 6, 1, 106)), Some(batch(0, 8, 1, 107))];
        assert!(t.check(&gap).is_err());
        // Two retries: the answer spans both originals.
        let retries = [Some(batches[1]), Some(batches[2])];
        assert_eq!(
            t.check(&retries).unwrap(),
            Verdict::Duplicate {
                first_offset: Offset::new(102),
                last_offset: Offset::new(105),
                max_timestamp: 104,
            }
        );
        // A retry with a new batch, or with a batch without producer id, is refused
        // whole; so is one batch sent twice in one request.
        for mixed in [
            vec![Some(batches[2]), Some(batch(0, 6, 1, 106))],
            vec![Some(batches[2]), None],
            vec![Some(batch(0, 6, 1, 106)), Some(batch(0, 6, 1, 107))],
        ] {
            let err = t.check(&mixed).unwrap_err();
            assert!(err.to_string().contains("retry them alone"), "{err}");
        }
    }

    #[test]
    fn the_least_recently_appended_producers_are_evicted_beyond_the_bound() {
        let mut t = ProducerStateTable::new(3, i64::MAX);
        let of = |id: i64| ProducerBatch {
            producer_id: ProducerId::new(id),
            ..batch(0, 0, 1, id)
        };
        for (id, at) in [(1, 10), (2, 20), (3, 30)] {
            t.update(&of(id), at);
        }
        t.update(&of(1), 40); // producer 1 is now the most recent
        t.update(&of(4), 50);
        assert_eq!(t.len(), 3);
        assert!(t.get(ProducerId::new(2)).is_none(), "the oldest goes");
        for id in [1, 3, 4] {
            assert!(t.get(ProducerId::new(id)).is_some(), "{id}");
        }
    }

    #[test]
    fn idle_producers_expire_by_the_injected_time() {
        let mut t = table(); // expiry 1,000 ms
        t.update(&batch(0, 0, 1, 0), 5_000);
        assert_eq!(t.expire(5_999), 0);
        assert!(check(&t, batch(0, 9, 1, 1)).is_err());
        assert_eq!(t.expire(6_000), 1);
        assert!(t.is_empty());
        // Forgotten: any sequence goes.
        assert_eq!(check(&t, batch(0, 9, 1, 1)).unwrap(), Verdict::Append);
    }

    #[test]
    fn restore_keeps_the_bounds() {
        let mut t = ProducerStateTable::new(1, i64::MAX);
        let (full, _) = with_batches(5);
        let mut entry = full.get(P).unwrap().clone();
        entry.batches.extend(entry.batches.clone());
        t.restore(P, entry);
        assert_eq!(t.get(P).unwrap().batches.len(), CACHED_BATCHES);
        let mut empty = t.get(P).unwrap().clone();
        empty.batches.clear();
        t.restore(ProducerId::new(8), empty);
        assert_eq!(t.len(), 1);
    }
}
