//! Idempotent producers through the log: a retried batch gets its original offsets and
//! is never stored twice — after a clean close, a crash, a torn snapshot, a truncation,
//! or the log start moving — and a follower's log dedups once it leads.
//!
//! The property test runs random appends, retries, epoch bumps, rolls, truncations and
//! reopens (clean, or dropped as after a process crash) against a model that derives
//! what the producer state must be from the batches in the log. `RILL_SEED=<n>` replays.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use rill_storage::batch::BatchHeader;
use rill_storage::testing::{batch_of_size, idempotent_batch};
use rill_storage::{AppendInfo, Clock as _, Log, LogConfig, ManualClock, StorageError};
use rill_types::{LeaderEpoch, Offset};

const E0: LeaderEpoch = LeaderEpoch::new(0);

/// Segments of about five of these tests' batches, so that they roll (and snapshot) often.
fn config() -> LogConfig {
    let mut config = common::small_config();
    config.set("segment.bytes", "500").unwrap();
    config
}

/// How often the property test saw each outcome, over all cases: duplicates, other
/// appends, refusals.
static SEEN: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

fn send(log: &mut Log, batch: &[u8]) -> Result<AppendInfo, StorageError> {
    log.append_as_leader(&mut batch.to_vec(), E0)
}

/// Producer 1 appends `n` batches of 2 records (sequences 0-1, 2-3, ...); returns each
/// batch's bytes as the producer sent them and the first offset it got.
fn produce(log: &mut Log, n: i32) -> Vec<(Vec<u8>, Offset)> {
    (0..n)
        .map(|i| {
            let batch = idempotent_batch(1, 0, 2 * i, 2, 1_000);
            let info = send(log, &batch).unwrap();
            assert!(!info.duplicate);
            (batch, info.first_offset)
        })
        .collect()
}

fn assert_dedups(log: &mut Log, sent: &[(Vec<u8>, Offset)]) {
    let end = log.log_end_offset();
    for (batch, first) in sent.iter().rev().take(5) {
        let info = send(log, batch).unwrap();
        assert!(info.duplicate);
        assert_eq!((info.first_offset, info.record_count), (*first, 0));
        assert_eq!(info.last_offset, Offset::new(first.get() + 1));
    }
    assert_eq!(log.log_end_offset(), end, "a retry appends nothing");
}

fn snapshot_files(dir: &Path) -> Vec<std::path::PathBuf> {
    common::files_with_extension(dir, "snapshot")
}

/// What [`produce`] returns: each batch as sent and its first offset.
type Sent = Vec<(Vec<u8>, Offset)>;

/// A log in a new directory with `n` batches of producer 1 (see [`produce`]).
fn log_with(n: i32) -> (tempfile::TempDir, Log, Sent) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = reopen(dir.path());
    let sent = produce(&mut log, n);
    (dir, log, sent)
}

/// Opens the log in `dir` with [`config`] (time does not matter to these tests).
fn reopen(dir: &Path) -> Log {
    common::open(dir, &config(), &Arc::new(ManualClock::new(1_000)))
}

#[test]
fn a_retry_gets_the_original_offsets_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let mut log = common::open(dir.path(), &config(), &clock);
    let sent = produce(&mut log, 8);
    assert_dedups(&mut log, &sent);
    // The next sequence still goes on; a gap or a fenced epoch does not.
    let gap = idempotent_batch(1, 0, 17, 1, 1_000);
    assert!(matches!(
        send(&mut log, &gap),
        Err(StorageError::OutOfOrderSequence { .. })
    ));
    let next = idempotent_batch(1, 0, 16, 1, 1_000);
    assert!(!send(&mut log, &next).unwrap().duplicate);
    let bumped = idempotent_batch(1, 1, 0, 1, 1_000);
    send(&mut log, &bumped).unwrap();
    assert!(matches!(
        send(&mut log, &idempotent_batch(1, 0, 17, 1, 1_000)),
        Err(StorageError::InvalidProducerEpoch { current: 1, .. })
    ));
    // Batches without a producer id are never checked.
    send(&mut log, &batch_of_size(2, 10, 1_000)).unwrap();
    send(&mut log, &batch_of_size(2, 10, 1_000)).unwrap();
}

#[test]
fn a_follower_knows_every_producer_when_it_leads() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let mut leader = common::open(leader_dir.path(), &config(), &clock);
    let sent = produce(&mut leader, 6);
    let mut follower = common::open(follower_dir.path(), &config(), &clock);
    for (header, bytes) in common::read_all(&leader, Offset::ZERO) {
        assert!(header.producer_id.is_some());
        follower.append_as_follower(&bytes).unwrap();
    }
    assert_eq!(follower.producer_state(), leader.producer_state());
    assert_dedups(&mut follower, &sent);
}

#[test]
fn a_retry_dedups_after_a_crash_and_after_a_clean_close() {
    let (dir, log, sent) = log_with(30); // several rolls: snapshots, replay
    assert!(log.segment_count() > 2);
    assert!(!snapshot_files(dir.path()).is_empty());
    drop(log); // a process crash: no clean close, no snapshot at the end
    let mut log = reopen(dir.path());
    assert_dedups(&mut log, &sent);
    log.close().unwrap();
    let mut log = reopen(dir.path());
    assert_dedups(&mut log, &sent);
    assert!(snapshot_files(dir.path()).len() <= 2);
}

#[test]
fn a_torn_or_damaged_snapshot_is_ignored_and_the_state_rebuilt_from_the_log() {
    for damage in ["cut", "flip", "empty"] {
        let (dir, log, sent) = log_with(30);
        log.close().unwrap();
        // Damage every snapshot, so the state must come from the log alone.
        for file in snapshot_files(dir.path()) {
            let mut bytes = fs::read(&file).unwrap();
            match damage {
                "cut" => bytes.truncate(bytes.len() / 2),
                "flip" => *bytes.last_mut().unwrap() ^= 1,
                _ => bytes.clear(),
            }
            fs::write(&file, bytes).unwrap();
        }
        // A leftover temp file of an interrupted snapshot does not matter either.
        fs::write(
            dir.path().join("00000000000000000099.snapshot.tmp"),
            b"junk",
        )
        .unwrap();
        let mut log = reopen(dir.path());
        assert!(snapshot_files(dir.path()).is_empty(), "{damage}: removed");
        assert_dedups(&mut log, &sent);
    }
}

#[test]
fn truncation_takes_the_producer_state_back_with_the_log() {
    let (dir, mut log, sent) = log_with(30);
    // Cut the last 10 batches (into older segments than the newest snapshots).
    let cut = sent[20].1;
    assert_eq!(log.truncate_to(cut).unwrap(), cut);
    assert_dedups(&mut log, &sent[..20]);
    // The first cut batch is the next in sequence again: appended, at the log end.
    let info = send(&mut log, &sent[20].0).unwrap();
    assert!(!info.duplicate);
    assert_eq!(info.first_offset, cut);
    assert!(matches!(
        send(&mut log, &sent[25].0),
        Err(StorageError::OutOfOrderSequence { .. })
    ));
    drop(log);
    let mut log = reopen(dir.path());
    assert_dedups(&mut log, &sent[..21]);
}

#[test]
fn the_log_start_moving_keeps_the_producers() {
    let (dir, mut log, _) = log_with(30);
    // Producer 2 appends once, early; then everything up to the last batch goes.
    let other = idempotent_batch(2, 0, 0, 1, 1_000);
    let other_at = send(&mut log, &other).unwrap().first_offset;
    let last = produce_more(&mut log, 30);
    let start = last.1;
    log.delete_records(start).unwrap();
    assert_eq!(log.log_start_offset(), start);
    for reopened in [false, true] {
        if reopened {
            drop(log);
            log = reopen(dir.path());
        }
        // The producers whose batches went are still known: a retry dedups (answering
        // with offsets now below the log start), the next sequence goes on.
        let info = send(&mut log, &other).unwrap();
        assert!(info.duplicate, "reopened {reopened}");
        assert_eq!(info.first_offset, other_at);
        let retry = send(&mut log, &last.0).unwrap();
        assert!(retry.duplicate && retry.first_offset == last.1);
    }
    let next = idempotent_batch(1, 0, 62, 1, 1_000);
    assert!(!send(&mut log, &next).unwrap().duplicate);
}

/// Producer 1's batch with sequences 60-61 (after `produce(.., 30)`).
fn produce_more(log: &mut Log, seq_batches: i32) -> (Vec<u8>, Offset) {
    let batch = idempotent_batch(1, 0, 2 * seq_batches, 2, 1_000);
    let info = send(log, &batch).unwrap();
    (batch, info.first_offset)
}

#[test]
fn idle_producers_expire_by_the_log_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let mut config = config();
    config.set("producer.id.expiration.ms", "60000").unwrap();
    let mut log = common::open(dir.path(), &config, &clock);
    let sent = produce(&mut log, 3);
    clock.advance(59_999);
    assert!(send(&mut log, &sent[2].0).unwrap().duplicate);
    // A retry is no append: the idle time still counts from the last one.
    clock.advance(1);
    // Forgotten: the retry is appended again (Kafka's behaviour once state is gone).
    let info = send(&mut log, &sent[2].0).unwrap();
    assert!(!info.duplicate);
    assert_eq!(log.producer_state().len(), 1);
}

// ---- the property test ----

#[derive(Debug, Clone)]
enum Op {
    /// Producer `producer` sends `batches` new batches of `records` records in one request.
    Send {
        producer: u8,
        batches: u8,
        records: u8,
    },
    /// Producer `producer` resends the batch `back` places from the end of what it sent.
    Retry {
        producer: u8,
        back: u8,
    },
    /// Producer `producer` gets a new epoch (sequences restart at 0).
    BumpEpoch {
        producer: u8,
    },
    /// A batch without a producer id.
    Plain,
    Roll,
    Truncate {
        pick: u16,
    },
    Reopen {
        clean: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..3, 1u8..3, 1u8..4).prop_map(|(producer, batches, records)| Op::Send { producer, batches, records }),
        5 => (0u8..3, 0u8..8).prop_map(|(producer, back)| Op::Retry { producer, back }),
        1 => (0u8..3).prop_map(|producer| Op::BumpEpoch { producer }),
        1 => Just(Op::Plain),
        1 => Just(Op::Roll),
        2 => any::<u16>().prop_map(|pick| Op::Truncate { pick }),
        2 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
    ]
}

/// A batch in the log: its offsets and, for an idempotent one, (producer, epoch, first
/// sequence, last sequence).
#[derive(Debug, Clone, Copy)]
struct Stored {
    base: Offset,
    last: Offset,
    producer: Option<(i64, i16, i32, i32)>,
}

/// One producer as a client sees it.
#[derive(Debug, Default)]
struct Client {
    epoch: i16,
    next_seq: i32,
    /// Every batch it sent and had acknowledged (bytes as sent).
    sent: Vec<Vec<u8>>,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Append,
    Duplicate(Offset, Offset),
    OutOfOrder,
    Fenced,
}

/// What the producer state must say about a batch, derived from the log alone: the
/// producer's newest epoch in the log and its last five batches in that epoch.
fn predict(log: &[Stored], producer: i64, epoch: i16, first: i32, last: i32) -> Outcome {
    let mine: Vec<(Stored, i16, i32, i32)> = log
        .iter()
        .filter_map(|s| match s.producer {
            Some((p, e, f, l)) if p == producer => Some((*s, e, f, l)),
            _ => None,
        })
        .collect();
    let Some(&(_, current, _, last_seq)) = mine.last() else {
        return Outcome::Append;
    };
    if epoch < current {
        return Outcome::Fenced;
    }
    if epoch > current {
        return if first == 0 {
            Outcome::Append
        } else {
            Outcome::OutOfOrder
        };
    }
    let cached = mine
        .iter()
        .rev()
        .take_while(|(_, e, _, _)| *e == current)
        .take(5);
    for (s, _, f, l) in cached {
        if (*f, *l) == (first, last) {
            return Outcome::Duplicate(s.base, s.last);
        }
    }
    if first == last_seq + 1 {
        Outcome::Append
    } else {
        Outcome::OutOfOrder
    }
}

/// What the log must answer to a request of `batches` from `producer`: each batch is
/// predicted against the log as the earlier ones of the request leave it; the request is
/// all new, all retries (answered with the originals' span), or refused whole.
fn predict_request(log: &[Stored], producer: i64, batches: &[Vec<u8>]) -> Outcome {
    let mut log = log.to_vec();
    let mut end = log.last().map_or(Offset::ZERO, |s| s.last.next());
    let mut originals = Vec::new();
    for batch in batches {
        let (epoch, first, last) = sequences(batch);
        match predict(&log, producer, epoch, first, last) {
            Outcome::Append => {
                let last_offset = Offset::new(end.get() + i64::from(last - first));
                log.push(Stored {
                    base: end,
                    last: last_offset,
                    producer: Some((producer, epoch, first, last)),
                });
                end = last_offset.next();
            }
            Outcome::Duplicate(base, last_offset) => originals.push((base, last_offset)),
            refused => return refused,
        }
    }
    match (originals.first(), originals.last()) {
        (None, _) => Outcome::Append,
        (Some(first), Some(last)) if originals.len() == batches.len() => {
            Outcome::Duplicate(first.0, last.1)
        }
        _ => Outcome::OutOfOrder,
    }
}

fn outcome(result: &Result<AppendInfo, StorageError>) -> Result<Outcome, TestCaseError> {
    match result {
        Ok(info) if info.duplicate => Ok(Outcome::Duplicate(info.first_offset, info.last_offset)),
        Ok(_) => Ok(Outcome::Append),
        Err(StorageError::OutOfOrderSequence { .. }) => Ok(Outcome::OutOfOrder),
        Err(StorageError::InvalidProducerEpoch { .. }) => Ok(Outcome::Fenced),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error: {e}"))),
    }
}

/// Appends `batches` (one request) and checks the log's answer against `expected`;
/// on an append, records the stored batches in `model`.
fn append_checked(
    log: &mut Log,
    model: &mut Vec<Stored>,
    batches: &[Vec<u8>],
    expected: &Outcome,
) -> Result<bool, TestCaseError> {
    let mut request: Vec<u8> = batches.concat();
    let end = log.log_end_offset();
    let result = log.append_as_leader(&mut request, E0);
    let got = outcome(&result)?;
    prop_assert_eq!(&got, expected);
    let kind = match got {
        Outcome::Duplicate(..) => 0,
        Outcome::Append => 1,
        _ => 2,
    };
    SEEN[kind].fetch_add(1, Ordering::Relaxed);
    if got != Outcome::Append {
        prop_assert_eq!(
            log.log_end_offset(),
            end,
            "a refusal or a retry appends nothing"
        );
        return Ok(false);
    }
    let mut at = 0;
    while at < request.len() {
        let h = BatchHeader::parse(&request[at..]).unwrap();
        model.push(Stored {
            base: h.base_offset,
            last: h.last_offset(),
            producer: h.producer_id.is_some().then(|| {
                let last_seq = h.base_sequence + h.last_offset_delta;
                (
                    h.producer_id.get(),
                    h.producer_epoch,
                    h.base_sequence,
                    last_seq,
                )
            }),
        });
        at += h.total_size();
    }
    prop_assert_eq!(model.last().unwrap().last.next(), log.log_end_offset());
    Ok(true)
}

fn sequences(batch: &[u8]) -> (i16, i32, i32) {
    let h = BatchHeader::parse(batch).unwrap();
    (
        h.producer_epoch,
        h.base_sequence,
        h.base_sequence + h.last_offset_delta,
    )
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    // Larger segments than the scenarios': truncation and crash recovery fsync every
    // segment, and this test does both often.
    let config = common::small_config();
    let mut log = reopen(dir.path());
    let mut model: Vec<Stored> = Vec::new();
    let mut clients: [Client; 3] = Default::default();

    for op in ops {
        match op {
            Op::Send {
                producer,
                batches,
                records,
            } => {
                let id = i64::from(producer);
                let client = &mut clients[usize::from(producer)];
                let mut request = Vec::new();
                let mut seq = client.next_seq;
                for _ in 0..batches {
                    let batch = idempotent_batch(
                        id,
                        client.epoch,
                        seq,
                        usize::from(records),
                        clock.now_ms(),
                    );
                    seq += i32::from(records);
                    request.push(batch);
                }
                let expected = predict_request(&model, id, &request);
                if append_checked(&mut log, &mut model, &request, &expected)? {
                    client.next_seq = seq;
                    client.sent.extend(request);
                }
            }
            Op::Retry { producer, back } => {
                let client = &clients[usize::from(producer)];
                let Some(batch) = client.sent.iter().rev().nth(usize::from(back)).cloned() else {
                    continue;
                };
                let expected =
                    predict_request(&model, i64::from(producer), std::slice::from_ref(&batch));
                if let Outcome::Duplicate(base, last_offset) = expected {
                    // The original is still in the log at exactly those offsets.
                    let original = model.iter().find(|s| s.base == base);
                    prop_assert!(original.is_some_and(|s| s.last == last_offset));
                }
                append_checked(&mut log, &mut model, &[batch], &expected)?;
            }
            Op::BumpEpoch { producer } => {
                let client = &mut clients[usize::from(producer)];
                client.epoch += 1;
                client.next_seq = 0;
            }
            Op::Plain => {
                let batch = batch_of_size(2, 10, clock.now_ms());
                append_checked(&mut log, &mut model, &[batch], &Outcome::Append)?;
            }
            Op::Roll => log.roll().map_err(common::fail)?,
            Op::Truncate { pick } => {
                let end = log.log_end_offset().get();
                let to = Offset::new(i64::from(pick) % (end + 1));
                let new_end = log.truncate_to(to).map_err(common::fail)?;
                model.retain(|s| s.last < to);
                let model_end = model.last().map_or(Offset::ZERO, |s| s.last.next());
                prop_assert_eq!(new_end, model_end);
                // The clients learn where their sequences stand now (as a Kafka producer
                // does from the errors that follow): the next one after what is left.
                for (id, client) in clients.iter_mut().enumerate() {
                    let left = model.iter().rev().find_map(|s| match s.producer {
                        Some((p, e, _, l)) if p == id as i64 => Some((e, l)),
                        _ => None,
                    });
                    match left {
                        Some((e, l)) if e == client.epoch => client.next_seq = l + 1,
                        Some(_) => client.next_seq = 0,
                        None => {}
                    }
                }
            }
            Op::Reopen { clean } => {
                log = common::reopen(log, clean, dir.path(), &config, &clock)?;
            }
        }
        clock.advance(10);
        prop_assert!(snapshot_files(dir.path()).len() <= 2);
    }

    // No batch was ever stored twice: every (producer, epoch, sequence) is in the log once.
    let mut seen = std::collections::BTreeSet::new();
    for (header, _) in common::read_all(&log, Offset::ZERO) {
        if header.producer_id.is_some() {
            let key = (
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
            );
            prop_assert!(seen.insert(key), "stored twice: {:?}", key);
        }
    }
    prop_assert!(seen.len() <= model.len());
    prop_assert!(log.producer_state().len() <= 3);
    Ok(())
}

#[test]
fn retries_always_get_their_original_offsets() {
    common::run_seeded(
        "retries_always_get_their_original_offsets",
        64,
        proptest::collection::vec(op(), 1..150),
        run,
    );
    let [duplicates, appends, refusals] = SEEN.each_ref().map(|n| n.load(Ordering::Relaxed));
    eprintln!("{duplicates} duplicates, {appends} appends, {refusals} refusals");
    assert!(
        duplicates > 0 && refusals > 0,
        "the test exercises all outcomes"
    );
}
