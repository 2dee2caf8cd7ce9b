//! Planning `rill group reset-offsets`: a pure function from what was looked up (each
//! partition's committed offset, log start, log end, and for `--to-datetime` the offset
//! found by time) and the asked-for reset to the new offsets. The command does the
//! look-ups, prints the plan, and commits it only with `--execute`.
//!
//! Rules, as Kafka's kafka-consumer-groups: every new offset is clamped to
//! [log start, log end]; `--shift-by` needs a committed offset to shift from; a time
//! with no record at or after it resets to the log end.

/// The reset asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetSpec {
    /// The log start offset.
    Earliest,
    /// The log end offset (the high watermark).
    Latest,
    /// This offset.
    ToOffset(i64),
    /// The first offset at or after this time (ms since the epoch).
    ToDatetime(i64),
    /// The committed offset moved by this much (negative: back).
    ShiftBy(i64),
}

/// What is known of one partition before planning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The group's committed offset, if any.
    pub current: Option<i64>,
    /// The log start offset.
    pub log_start: i64,
    /// The log end offset (high watermark).
    pub log_end: i64,
    /// For [`ResetSpec::ToDatetime`]: the first offset at or after the time, if any.
    pub by_time: Option<i64>,
}

/// One partition's planned reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset before.
    pub current: Option<i64>,
    /// The offset to commit.
    pub new: i64,
}

/// The plan for every partition of `looked`, in its order; an error names the first
/// partition that cannot be planned.
pub fn plan(spec: ResetSpec, looked: &[Looked]) -> Result<Vec<Planned>, String> {
    looked
        .iter()
        .map(|l| {
            let wanted = match spec {
                ResetSpec::Earliest => l.log_start,
                ResetSpec::Latest => l.log_end,
                ResetSpec::ToOffset(o) => o,
                ResetSpec::ToDatetime(_) => l.by_time.unwrap_or(l.log_end),
                ResetSpec::ShiftBy(n) => l
                    .current
                    .ok_or_else(|| {
                        format!(
                            "cannot shift {}:{}: the group has no committed offset there",
                            l.topic, l.partition
                        )
                    })?
                    .saturating_add(n),
            };
            Ok(Planned {
                topic: l.topic.clone(),
                partition: l.partition,
                current: l.current,
                new: wanted.clamp(l.log_start, l.log_end.max(l.log_start)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn looked(current: Option<i64>, start: i64, end: i64, by_time: Option<i64>) -> Looked {
        Looked {
            topic: "t".into(),
            partition: 0,
            current,
            log_start: start,
            log_end: end,
            by_time,
        }
    }

    fn new_of(spec: ResetSpec, l: Looked) -> i64 {
        plan(spec, &[l]).unwrap()[0].new
    }

    #[test]
    fn each_spec_picks_its_offset() {
        let l = looked(Some(40), 10, 100, Some(55));
        assert_eq!(new_of(ResetSpec::Earliest, l.clone()), 10);
        assert_eq!(new_of(ResetSpec::Latest, l.clone()), 100);
        assert_eq!(new_of(ResetSpec::ToOffset(70), l.clone()), 70);
        assert_eq!(new_of(ResetSpec::ToDatetime(0), l.clone()), 55);
        assert_eq!(new_of(ResetSpec::ShiftBy(-15), l.clone()), 25);
        assert_eq!(new_of(ResetSpec::ShiftBy(5), l), 45);
    }

    #[test]
    fn new_offsets_are_clamped_to_the_log() {
        let l = looked(Some(40), 10, 100, None);
        assert_eq!(new_of(ResetSpec::ToOffset(5), l.clone()), 10);
        assert_eq!(new_of(ResetSpec::ToOffset(500), l.clone()), 100);
        assert_eq!(new_of(ResetSpec::ShiftBy(-1000), l.clone()), 10);
        assert_eq!(new_of(ResetSpec::ShiftBy(i64::MAX), l.clone()), 100);
        // No record at or after the time: the end.
        assert_eq!(new_of(ResetSpec::ToDatetime(0), l), 100);
        // An empty log: everything is its start.
        assert_eq!(new_of(ResetSpec::Latest, looked(None, 7, 7, None)), 7);
    }

    #[test]
    fn shifting_needs_a_committed_offset() {
        let e = plan(ResetSpec::ShiftBy(1), &[looked(None, 0, 10, None)]).unwrap_err();
        assert!(
            e.contains("t:0") && e.contains("no committed offset"),
            "{e}"
        );
        // Absolute resets do not.
        let p = plan(ResetSpec::Earliest, &[looked(None, 3, 10, None)]).unwrap();
        assert_eq!(
            p,
            [Planned {
                topic: "t".into(),
                partition: 0,
                current: None,
                new: 3
            }]
        );
    }
}
