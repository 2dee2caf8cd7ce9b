//! Retention policy, pure: which of the oldest segments may go. The log executes the
//! decision (see `log/trim.rs`).
//!
//! Only whole, sealed segments go (never the active one), only from the front, and only
//! below `high_watermark` (data a consumer may not have been able to read yet stays).

use rill_types::Offset;

use crate::config::LogConfig;

/// What the policy needs to know of one sealed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentFacts {
    /// Base offset.
    pub base: Offset,
    /// The offset after its last batch.
    pub next_offset: Offset,
    /// Bytes.
    pub size: u64,
    /// Largest timestamp of its batches.
    pub max_timestamp: i64,
}

/// How many of `sealed` (oldest first) retention deletes: by log start offset (wholly
/// below it), by time (`retention.ms` since the segment's newest record) and by size
/// (while the log, active segment included, is larger than `retention.bytes`). Time and
/// size apply only when `cleanup.policy` includes delete.
pub fn segments_to_delete(
    sealed: &[SegmentFacts],
    total_size: u64,
    config: &LogConfig,
    now_ms: i64,
    log_start: Offset,
    high_watermark: Offset,
) -> usize {
    let deletes = config.cleanup_policy.deletes();
    let mut remaining_size = total_size;
    let mut count = 0;
    for segment in sealed {
        if segment.next_offset > high_watermark {
            break;
        }
        let below_start = segment.next_offset <= log_start;
        let expired = deletes
            && config.retention_ms >= 0
            && segment.max_timestamp < now_ms.saturating_sub(config.retention_ms);
        let oversize = deletes
            && config.retention_bytes >= 0
            && remaining_size.saturating_sub(segment.size) >= config.retention_bytes as u64;
        if !(below_start || expired || oversize) {
            break;
        }
        remaining_size -= segment.size;
        count += 1;
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogConfig;

    fn seg(base: i64, next: i64, size: u64, ts: i64) -> SegmentFacts {
        SegmentFacts {
            base: Offset::new(base),
            next_offset: Offset::new(next),
            size,
            max_timestamp: ts,
        }
    }

    fn segs() -> Vec<SegmentFacts> {
        vec![
            seg(0, 10, 100, 1_000),
            seg(10, 20, 100, 2_000),
            seg(20, 30, 100, 3_000),
        ]
    }

    #[test]
    fn by_time() {
        let c = LogConfig::from_pairs([("retention.ms", "1500")]).unwrap();
        let hw = Offset::new(30);
        assert_eq!(
            segments_to_delete(&segs(), 400, &c, 3_000, Offset::ZERO, hw),
            1
        );
        assert_eq!(
            segments_to_delete(&segs(), 400, &c, 4_501, Offset::ZERO, hw),
            3
        );
        assert_eq!(
            segments_to_delete(&segs(), 400, &c, 2_500, Offset::ZERO, hw),
            0
        );
    }

    #[test]
    fn by_size_keeps_at_least_retention_bytes() {
        let c =
            LogConfig::from_pairs([("retention.bytes", "250"), ("retention.ms", "-1")]).unwrap();
        // 400 bytes in all: dropping 100 leaves 300 ≥ 250, dropping 200 would leave 200.
        assert_eq!(
            segments_to_delete(&segs(), 400, &c, 0, Offset::ZERO, Offset::new(30)),
            1
        );
    }

    #[test]
    fn by_log_start_offset_even_when_compacted() {
        let c = LogConfig::from_pairs([("cleanup.policy", "compact")]).unwrap();
        assert_eq!(
            segments_to_delete(&segs(), 400, &c, i64::MAX, Offset::new(20), Offset::new(30)),
            2
        );
        assert_eq!(
            segments_to_delete(&segs(), 400, &c, i64::MAX, Offset::new(19), Offset::new(30)),
            1
        );
    }

    #[test]
    fn never_past_the_high_watermark() {
        let c = LogConfig::from_pairs([("retention.ms", "0")]).unwrap();
        assert_eq!(
            segments_to_delete(&segs(), 400, &c, i64::MAX, Offset::ZERO, Offset::new(15)),
            1
        );
    }
}
