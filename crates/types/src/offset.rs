//! [`Offset`]: a position in a partition log.

use serde::{Deserialize, Serialize};

/// The offset of a record in a partition log.
///
/// Offsets start at 0, grow by one per record and never hold two values: once a record
/// is acknowledged at an offset, that offset means that record forever (compaction may
/// remove it, leaving a gap, but never reuses the offset).
///
/// Values used as bounds (log end offset, high watermark) name the *next* offset, i.e.
/// one past the last record. Invariant: non-negative; Kafka's -1 ("unknown") is
/// `Option<Offset>` in rill code.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Offset(i64);

int_newtype_impls!(Offset, i64);

impl Offset {
    /// The first offset of every log.
    pub const ZERO: Offset = Offset(0);

    /// The offset after this one.
    ///
    /// # Panics
    /// On `i64` overflow, which no real log reaches (it would take 2^63 records).
    #[must_use]
    pub fn next(self) -> Offset {
        Offset(self.0.checked_add(1).expect("offset overflow"))
    }

    /// This offset moved forward by `n` records, or `None` on overflow.
    #[must_use]
    pub fn checked_add(self, n: i64) -> Option<Offset> {
        self.0.checked_add(n).map(Offset)
    }

    /// How many offsets lie from `base` up to this one, if this one is not below `base`.
    #[must_use]
    pub fn distance_from(self, base: Offset) -> Option<u64> {
        u64::try_from(self.0.checked_sub(base.0)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Offset;

    #[test]
    fn arithmetic() {
        assert_eq!(Offset::ZERO.next(), Offset::new(1));
        assert_eq!(Offset::new(10).distance_from(Offset::new(4)), Some(6));
        assert_eq!(Offset::new(4).distance_from(Offset::new(10)), None);
        assert_eq!(Offset::new(i64::MAX).checked_add(1), None);
    }
}
