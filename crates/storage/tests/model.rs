//! Property test: random sequences of append, read, truncate, roll, delete-records,
//! flush and reopen (clean, or dropped without close as after a process crash) against a
//! simple in-memory model. Every read must equal the model.
//!
//! The seed is printed; replay a failure with `RILL_SEED=<seed> cargo test -p
//! rill-storage --test model`. proptest then shrinks to a minimal failing sequence.

mod common;

use std::sync::Arc;

use proptest::prelude::*;
use rill_storage::{Clock as _, Log, ManualClock, StorageError};
use rill_types::Offset;

#[derive(Debug, Clone)]
enum Op {
    Append {
        records: usize,
        value_len: usize,
    },
    Read {
        pick: u16,
        max_bytes: u16,
        upper_pick: u16,
    },
    Truncate {
        pick: u16,
    },
    DeleteRecords {
        pick: u16,
    },
    Roll,
    Flush,
    Reopen {
        clean: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..6, 0usize..300).prop_map(|(records, value_len)| Op::Append { records, value_len }),
        3 => (any::<u16>(), 1u16..2000, any::<u16>()).prop_map(|(pick, max_bytes, upper_pick)| Op::Read { pick, max_bytes, upper_pick }),
        1 => any::<u16>().prop_map(|pick| Op::Truncate { pick }),
        1 => any::<u16>().prop_map(|pick| Op::DeleteRecords { pick }),
        1 => Just(Op::Roll),
        1 => Just(Op::Flush),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
    ]
}

/// The model: the batches (base, last, bytes as stored) and the two bounds.
#[derive(Debug, Default)]
struct Model {
    batches: Vec<(Offset, Offset, Vec<u8>)>,
    log_start: Offset,
    log_end: Offset,
}

impl Model {
    /// An offset in [log_start, log_end] chosen by `pick`.
    fn offset(&self, pick: u16) -> Offset {
        let span = self.log_end.get() - self.log_start.get() + 1;
        Offset::new(self.log_start.get() + i64::from(pick) % span)
    }

    /// Batches a reader starting at `start` may see, in order.
    fn from(&self, start: Offset) -> Vec<&(Offset, Offset, Vec<u8>)> {
        self.batches
            .iter()
            .filter(|(_, last, _)| *last >= start)
            .collect()
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let config = common::small_config();
    let mut log: Log = common::open(dir.path(), &config, &clock);
    let mut model = Model::default();

    for op in ops {
        match op {
            Op::Append { records, value_len } => {
                let (first, last, bytes) =
                    common::append(&mut log, records, value_len, clock.now_ms());
                prop_assert_eq!(first, model.log_end);
                prop_assert_eq!(last.get() - first.get() + 1, records as i64);
                model.batches.push((first, last, bytes));
                model.log_end = last.next();
            }
            Op::Read {
                pick,
                max_bytes,
                upper_pick,
            } => {
                let start = model.offset(pick);
                let upper = model.offset(upper_pick);
                let got = log
                    .read(start, usize::from(max_bytes), upper)
                    .map_err(common::fail)?;
                let got = common::batches(&got.records);
                let expected: Vec<_> = model
                    .from(start)
                    .into_iter()
                    .filter(|(_, last, _)| *last < upper)
                    .collect();
                // A read returns a non-empty prefix of what is readable (it may stop at a
                // segment end or at max_bytes, but always returns the first whole batch).
                prop_assert_eq!(
                    got.is_empty(),
                    expected.is_empty(),
                    "start {} upper {}",
                    start,
                    upper
                );
                prop_assert!(got.len() <= expected.len());
                let mut size = 0;
                for (i, ((header, bytes), (base, last, want))) in
                    got.iter().zip(&expected).enumerate()
                {
                    prop_assert_eq!(header.base_offset, *base);
                    prop_assert_eq!(header.last_offset(), *last);
                    prop_assert_eq!(bytes, want);
                    size += bytes.len();
                    prop_assert!(
                        i == 0 || size <= usize::from(max_bytes),
                        "read exceeded max_bytes"
                    );
                }
            }
            Op::Truncate { pick } => {
                let to = model.offset(pick);
                let new_end = log.truncate_to(to).map_err(common::fail)?;
                if to < model.log_end {
                    let cut = model.batches.iter().position(|(_, last, _)| *last >= to);
                    if let Some(cut) = cut {
                        model.log_end = model.batches[cut].0.max(model.log_start);
                        model.batches.truncate(cut);
                    }
                }
                prop_assert_eq!(new_end, model.log_end);
            }
            Op::DeleteRecords { pick } => {
                let to = model.offset(pick);
                log.delete_records(to).map_err(common::fail)?;
                model.log_start = model.log_start.max(to);
                let below = model.log_start.get() - 1;
                if below >= 0 {
                    let err = log
                        .read(Offset::new(below), 100, model.log_end)
                        .unwrap_err();
                    let out_of_range = matches!(err, StorageError::OffsetOutOfRange { .. });
                    prop_assert!(out_of_range, "{}", err);
                }
            }
            Op::Roll => log.roll().map_err(common::fail)?,
            Op::Flush => log.flush().map_err(common::fail)?,
            Op::Reopen { clean } => {
                log = common::reopen(log, clean, dir.path(), &config, &clock)?;
            }
        }
        clock.advance(10);
        prop_assert_eq!(log.log_start_offset(), model.log_start);
        prop_assert_eq!(log.log_end_offset(), model.log_end);
    }

    // Finally the whole log, read from the start, equals the model.
    let all = common::read_all(&log, model.log_start);
    let expected = model.from(model.log_start);
    prop_assert_eq!(all.len(), expected.len());
    for ((header, bytes), (base, _, want)) in all.iter().zip(expected) {
        prop_assert_eq!(header.base_offset, *base);
        prop_assert_eq!(bytes, want);
    }
    Ok(())
}

#[test]
fn log_matches_model() {
    common::run_seeded(
        "log_matches_model",
        64,
        proptest::collection::vec(op(), 1..120),
        run,
    );
}
