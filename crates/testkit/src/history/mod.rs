//! [`History`]: what producers sent and what they were told, checked against what the
//! partitions hold afterwards. Pure: no I/O, no clock.
//!
//! The contract with the test: every value sent is unique (e.g. `p{producer}-{seq}`), and
//! each producer sends sequentially, recording each send once with its outcome, in send
//! order. Under those rules the checker can name each kind of anomaly:
//!
//! * lost — acknowledged (`Outcome::Ok`) but absent from every read;
//! * duplicated — present at more than one position;
//! * inconsistent — acknowledged at offset X while the log shows another value at X (or
//!   the value only elsewhere), one offset read with two values, or two values
//!   acknowledged at one offset;
//! * reordered — one producer's acknowledged values in a partition appear in the log in
//!   another order than they were sent;
//! * unexpected — present but never sent.

mod report;

use std::collections::{BTreeMap, HashMap, HashSet};

pub use report::{Duplicate, Inconsistency, Lost, Reordering, Report, Unexpected};

/// What a producer was told about one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged at this offset: the value must be in the log there, forever.
    Ok(i64),
    /// Definitely refused: the value may be absent (if present, it is counted).
    Failed,
    /// No answer (timeout, broken connection): the value may or may not be present.
    Unknown,
}

/// One recorded send.
#[derive(Debug, Clone)]
struct Send {
    producer: usize,
    value: Vec<u8>,
    partition: i32,
    outcome: Outcome,
}

/// The sends of every producer, in each producer's send order.
#[derive(Debug, Clone, Default)]
pub struct History {
    sends: Vec<Send>,
    /// Every value recorded, to enforce uniqueness at the source.
    values: HashSet<Vec<u8>>,
}

/// The reads a history is checked against: per partition, (offset, value) pairs.
/// Reading one offset twice with the same value is harmless; order does not matter.
pub type Reads = BTreeMap<i32, Vec<(i64, Vec<u8>)>>;

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `producer` sent `value` to `partition` and was told `outcome`.
    /// Sends of one producer must be recorded in the order they were sent.
    ///
    /// Panics if `value` was recorded before: values must be unique for the check to
    /// mean anything.
    pub fn record(
        &mut self,
        producer: usize,
        value: impl Into<Vec<u8>>,
        partition: i32,
        outcome: Outcome,
    ) {
        let value = value.into();
        assert!(
            self.values.insert(value.clone()),
            "value {:?} recorded twice: history values must be unique",
            String::from_utf8_lossy(&value)
        );
        self.sends.push(Send {
            producer,
            value,
            partition,
            outcome,
        });
    }

    /// Appends `other`'s sends (e.g. one history per producer thread, merged at the end).
    pub fn merge(&mut self, other: History) {
        for send in other.sends {
            self.record(send.producer, send.value, send.partition, send.outcome);
        }
    }

    /// How many sends were recorded.
    pub fn len(&self) -> usize {
        self.sends.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty()
    }

    /// Checks the history against `reads` (the whole content of every partition written).
    pub fn check(&self, reads: &Reads) -> Report {
        let mut report = Report::default();
        let log = Log::from_reads(reads, &mut report);
        let sent: HashMap<&[u8], &Send> =
            self.sends.iter().map(|s| (s.value.as_slice(), s)).collect();

        for send in &self.sends {
            let present = log.positions.contains_key(send.value.as_slice());
            match send.outcome {
                Outcome::Ok(_) => report.ok += 1,
                Outcome::Failed => {
                    report.failed += 1;
                    report.failed_present += usize::from(present);
                }
                Outcome::Unknown => {
                    report.unknown += 1;
                    report.unknown_present += usize::from(present);
                }
            }
        }
        self.check_acknowledged(&log, &mut report);
        self.check_order(&log, &mut report);
        for (value, positions) in &log.ordered_positions() {
            if positions.len() > 1 {
                report.duplicated.push(Duplicate {
                    value: value.to_vec(),
                    positions: positions.clone(),
                });
            }
            if !sent.contains_key(value) {
                for &(partition, offset) in positions {
                    report.unexpected.push(Unexpected {
                        partition,
                        offset,
                        value: value.to_vec(),
                    });
                }
            }
        }
        report
    }

    /// Lost and inconsistent acknowledged sends.
    fn check_acknowledged(&self, log: &Log<'_>, report: &mut Report) {
        let mut acked_at: HashMap<Position, &[u8]> = HashMap::new();
        for send in &self.sends {
            let Outcome::Ok(offset) = send.outcome else {
                continue;
            };
            let here = (send.partition, offset);
            if let Some(other) = acked_at.insert(here, &send.value) {
                report.inconsistent.push(Inconsistency {
                    partition: send.partition,
                    offset,
                    reason: format!(
                        "two values acknowledged at this offset: {} and {}",
                        report::show(other),
                        report::show(&send.value)
                    ),
                });
            }
            let positions = log.positions.get(send.value.as_slice());
            if positions.is_none() {
                report.lost.push(Lost {
                    producer: send.producer,
                    value: send.value.clone(),
                    partition: send.partition,
                    offset,
                });
            }
            match log.at(here) {
                Some(found) if found != send.value.as_slice() => {
                    report.inconsistent.push(Inconsistency {
                        partition: send.partition,
                        offset,
                        reason: format!(
                            "{} was acknowledged here but the log holds {}",
                            report::show(&send.value),
                            report::show(found)
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    if let Some(positions) = positions {
                        report.inconsistent.push(Inconsistency {
                            partition: send.partition,
                            offset,
                            reason: format!(
                                "{} was acknowledged here but is only at {positions:?}",
                                report::show(&send.value)
                            ),
                        });
                    }
                }
            }
        }
    }

    /// Reorderings: per producer and partition, acknowledged values must sit at
    /// increasing offsets in send order. Values not found in their partition are skipped
    /// (they are already reported as lost or inconsistent).
    fn check_order(&self, log: &Log<'_>, report: &mut Report) {
        let mut last: HashMap<(usize, i32), (&[u8], i64)> = HashMap::new();
        for send in &self.sends {
            let Outcome::Ok(acked) = send.outcome else {
                continue;
            };
            let Some(offset) = log.offset_of(&send.value, send.partition, acked) else {
                continue;
            };
            let key = (send.producer, send.partition);
            if let Some(&(earlier, earlier_offset)) = last.get(&key)
                && offset <= earlier_offset
            {
                report.reordered.push(Reordering {
                    producer: send.producer,
                    partition: send.partition,
                    earlier: earlier.to_vec(),
                    earlier_offset,
                    later: send.value.clone(),
                    later_offset: offset,
                });
            }
            last.insert(key, (&send.value, offset));
        }
    }
}

/// Where a record is: (partition, offset).
type Position = (i32, i64);

/// The reads, indexed both ways.
struct Log<'a> {
    /// (partition, offset) → the value read there (the first, if conflicting).
    at: BTreeMap<Position, &'a [u8]>,
    /// value → every distinct position it was read at, in partition/offset order.
    positions: HashMap<&'a [u8], Vec<Position>>,
}

impl<'a> Log<'a> {
    /// Indexes `reads`, reporting offsets read with two different values.
    fn from_reads(reads: &'a Reads, report: &mut Report) -> Self {
        let mut at: BTreeMap<Position, &'a [u8]> = BTreeMap::new();
        for (&partition, records) in reads {
            for (offset, value) in records {
                let here = (partition, *offset);
                match at.get(&here) {
                    None => {
                        at.insert(here, value);
                    }
                    Some(first) if *first == value.as_slice() => {}
                    Some(first) => report.inconsistent.push(Inconsistency {
                        partition,
                        offset: *offset,
                        reason: format!(
                            "read with two values: {} and {}",
                            report::show(first),
                            report::show(value)
                        ),
                    }),
                }
            }
        }
        let mut positions: HashMap<&'a [u8], Vec<Position>> = HashMap::new();
        for (&here, &value) in &at {
            positions.entry(value).or_default().push(here);
        }
        Self { at, positions }
    }

    fn at(&self, here: Position) -> Option<&'a [u8]> {
        self.at.get(&here).copied()
    }

    /// Where `value` sits in `partition`: at `acked` if it is there, else its first
    /// position in that partition.
    fn offset_of(&self, value: &[u8], partition: i32, acked: i64) -> Option<i64> {
        if self.at((partition, acked)) == Some(value) {
            return Some(acked);
        }
        self.positions
            .get(value)?
            .iter()
            .find(|(p, _)| *p == partition)
            .map(|&(_, offset)| offset)
    }

    /// Every value with its positions, ordered by its first position (deterministic).
    fn ordered_positions(&self) -> Vec<(&'a [u8], Vec<Position>)> {
        let mut all: Vec<_> = self
            .positions
            .iter()
            .map(|(value, positions)| (*value, positions.clone()))
            .collect();
        all.sort_by_key(|(_, positions)| positions[0]);
        all
    }
}

#[cfg(test)]
mod tests;
