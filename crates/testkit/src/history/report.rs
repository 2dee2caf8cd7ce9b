//! [`Report`]: the anomalies a history check found, and assertions over them.

use std::borrow::Cow;
use std::fmt;

/// Entries of each kind printed by `Display` (and so by the assertions); the counts are
/// always complete.
const SHOWN_PER_KIND: usize = 20;

/// An acknowledged value absent from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lost {
    /// Who sent it.
    pub producer: usize,
    /// The value.
    pub value: Vec<u8>,
    /// The partition it was sent to.
    pub partition: i32,
    /// The offset it was acknowledged at.
    pub offset: i64,
}

/// A value present at more than one position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The value.
    pub value: Vec<u8>,
    /// Every (partition, offset) it was read at, in order.
    pub positions: Vec<(i32, i64)>,
}

/// An offset whose content contradicts an acknowledgement or another read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inconsistency {
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// What contradicts what.
    pub reason: String,
}

/// Two acknowledged values of one producer found in the log in the opposite order to
/// the one they were sent in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reordering {
    /// The producer.
    pub producer: usize,
    /// The partition both are in.
    pub partition: i32,
    /// The value sent first.
    pub earlier: Vec<u8>,
    /// Where the value sent first is.
    pub earlier_offset: i64,
    /// The value sent next.
    pub later: Vec<u8>,
    /// Where the value sent next is: not after `earlier_offset`.
    pub later_offset: i64,
}

/// A value in the log that no producer sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unexpected {
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The value.
    pub value: Vec<u8>,
}

/// What [`History::check`](super::History::check) found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Sends acknowledged.
    pub ok: usize,
    /// Sends refused.
    pub failed: usize,
    /// Sends whose outcome is unknown.
    pub unknown: usize,
    /// Refused sends whose value is in the log anyway.
    pub failed_present: usize,
    /// Sends of unknown outcome whose value is in the log.
    pub unknown_present: usize,
    /// Acknowledged but absent.
    pub lost: Vec<Lost>,
    /// Present more than once.
    pub duplicated: Vec<Duplicate>,
    /// Contradicting acknowledgements or reads.
    pub inconsistent: Vec<Inconsistency>,
    /// Out of send order.
    pub reordered: Vec<Reordering>,
    /// Never sent.
    pub unexpected: Vec<Unexpected>,
}

impl Report {
    /// No acknowledged write was lost, contradicted or reordered.
    pub fn is_safe(&self) -> bool {
        self.lost.is_empty() && self.inconsistent.is_empty() && self.reordered.is_empty()
    }

    /// Panics, printing the report, unless [`Report::is_safe`]. Duplicates and
    /// unexpected values are allowed here; see the other assertions.
    #[track_caller]
    pub fn assert_safe(&self) {
        assert!(self.is_safe(), "history check failed:\n{self}");
    }

    /// Panics, printing the report, if any value is present more than once.
    #[track_caller]
    pub fn assert_no_duplicates(&self) {
        assert!(self.duplicated.is_empty(), "duplicates found:\n{self}");
    }

    /// Panics, printing the report, if the log holds a value nobody sent.
    #[track_caller]
    pub fn assert_no_unexpected(&self) {
        assert!(
            self.unexpected.is_empty(),
            "unexpected values found:\n{self}"
        );
    }
}

/// A value for humans: UTF-8 when it is (values are like `p1-42`), lossy otherwise.
pub(crate) fn show(value: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(value)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sends: {} ok, {} failed ({} present), {} unknown ({} present); \
             lost {}, duplicated {}, inconsistent {}, reordered {}, unexpected {}",
            self.ok,
            self.failed,
            self.failed_present,
            self.unknown,
            self.unknown_present,
            self.lost.len(),
            self.duplicated.len(),
            self.inconsistent.len(),
            self.reordered.len(),
            self.unexpected.len()
        )?;
        section(f, "lost", &self.lost, |l| {
            format!(
                "{} (producer {}) acknowledged at {}/{}",
                show(&l.value),
                l.producer,
                l.partition,
                l.offset
            )
        })?;
        section(f, "inconsistent", &self.inconsistent, |i| {
            format!("{}/{}: {}", i.partition, i.offset, i.reason)
        })?;
        section(f, "reordered", &self.reordered, |r| {
            format!(
                "producer {} partition {}: sent {} then {}, but they are at {} and {}",
                r.producer,
                r.partition,
                show(&r.earlier),
                show(&r.later),
                r.earlier_offset,
                r.later_offset
            )
        })?;
        section(f, "duplicated", &self.duplicated, |d| {
            format!("{} at {:?}", show(&d.value), d.positions)
        })?;
        section(f, "unexpected", &self.unexpected, |u| {
            format!("{} at {}/{}", show(&u.value), u.partition, u.offset)
        })
    }
}

/// Writes up to [`SHOWN_PER_KIND`] entries of one kind.
fn section<T>(
    f: &mut fmt::Formatter<'_>,
    kind: &str,
    entries: &[T],
    line: impl Fn(&T) -> String,
) -> fmt::Result {
    if entries.is_empty() {
        return Ok(());
    }
    writeln!(f, "{kind}:")?;
    for entry in entries.iter().take(SHOWN_PER_KIND) {
        writeln!(f, "  {}", line(entry))?;
    }
    if entries.len() > SHOWN_PER_KIND {
        writeln!(f, "  ... and {} more", entries.len() - SHOWN_PER_KIND)?;
    }
    Ok(())
}
