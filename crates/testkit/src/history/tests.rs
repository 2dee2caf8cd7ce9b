//! One test per kind of anomaly, plus the clean case.

use super::*;

fn v(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// Reads of partition 0 only.
fn p0(records: &[(i64, &str)]) -> Reads {
    let mut reads = Reads::new();
    reads.insert(0, records.iter().map(|(o, s)| (*o, v(s))).collect());
    reads
}

/// Producer 0 sent a, b, c to partition 0, acknowledged at 0, 1, 2.
fn three_acked() -> History {
    let mut h = History::new();
    h.record(0, "a", 0, Outcome::Ok(0));
    h.record(0, "b", 0, Outcome::Ok(1));
    h.record(0, "c", 0, Outcome::Ok(2));
    h
}

#[test]
fn a_faithful_log_is_safe_and_counts_outcomes() {
    let mut h = three_acked();
    h.record(1, "x", 0, Outcome::Failed);
    h.record(1, "y", 0, Outcome::Unknown);
    h.record(1, "z", 0, Outcome::Unknown);
    let report = h.check(&p0(&[(0, "a"), (1, "b"), (2, "c"), (3, "y"), (1, "b")]));
    report.assert_safe();
    report.assert_no_duplicates();
    report.assert_no_unexpected();
    assert_eq!(
        (
            report.ok,
            report.failed,
            report.unknown,
            report.unknown_present
        ),
        (3, 1, 2, 1)
    );
    assert_eq!(report.failed_present, 0);
}

#[test]
fn an_acknowledged_value_missing_is_lost() {
    let report = three_acked().check(&p0(&[(0, "a"), (1, "b")]));
    assert_eq!(
        report.lost,
        [Lost {
            producer: 0,
            value: v("c"),
            partition: 0,
            offset: 2
        }]
    );
    assert!(report.inconsistent.is_empty(), "{report}");
    let panic = std::panic::catch_unwind(|| report.assert_safe()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("c (producer 0) acknowledged at 0/2"),
        "{message}"
    );
}

#[test]
fn a_value_twice_is_a_duplicate_but_still_safe() {
    let report = three_acked().check(&p0(&[(0, "a"), (1, "b"), (2, "c"), (3, "b")]));
    report.assert_safe();
    assert_eq!(
        report.duplicated,
        [Duplicate {
            value: v("b"),
            positions: vec![(0, 1), (0, 3)]
        }]
    );
    assert!(std::panic::catch_unwind(|| report.assert_no_duplicates()).is_err());
}

#[test]
fn another_value_at_an_acknowledged_offset_is_inconsistent() {
    let mut h = three_acked();
    h.record(1, "d", 0, Outcome::Unknown);
    // Offset 2 holds d; c moved to 3.
    let report = h.check(&p0(&[(0, "a"), (1, "b"), (2, "d"), (3, "c")]));
    assert_eq!(report.inconsistent.len(), 1, "{report}");
    assert_eq!(report.inconsistent[0].offset, 2);
    assert!(report.inconsistent[0].reason.contains("log holds d"));
    assert!(report.lost.is_empty());
    assert!(!report.is_safe());
}

#[test]
fn an_acknowledged_value_found_only_elsewhere_is_inconsistent() {
    // c acknowledged at 2, but the log ends at 1 and c sits at 5 after a gap.
    let report = three_acked().check(&p0(&[(0, "a"), (1, "b"), (5, "c")]));
    assert_eq!(report.inconsistent.len(), 1, "{report}");
    assert!(report.inconsistent[0].reason.contains("only at [(0, 5)]"));
}

#[test]
fn one_offset_read_with_two_values_is_inconsistent() {
    let report = three_acked().check(&p0(&[(0, "a"), (1, "b"), (2, "c"), (1, "zz")]));
    assert_eq!(report.inconsistent.len(), 1, "{report}");
    assert!(
        report.inconsistent[0]
            .reason
            .contains("read with two values")
    );
}

#[test]
fn two_values_acknowledged_at_one_offset_are_inconsistent() {
    let mut h = History::new();
    h.record(0, "a", 0, Outcome::Ok(0));
    h.record(1, "b", 0, Outcome::Ok(0));
    let report = h.check(&p0(&[(0, "a"), (1, "b")]));
    assert!(
        report
            .inconsistent
            .iter()
            .any(|i| i.reason.contains("two values acknowledged")),
        "{report}"
    );
}

#[test]
fn out_of_send_order_is_reordered() {
    let mut h = History::new();
    h.record(0, "a", 0, Outcome::Ok(1));
    h.record(0, "b", 0, Outcome::Ok(0));
    // Another producer's interleaving and other partitions do not matter.
    h.record(1, "x", 0, Outcome::Ok(2));
    h.record(0, "c", 1, Outcome::Ok(0));
    let mut reads = p0(&[(0, "b"), (1, "a"), (2, "x")]);
    reads.insert(1, vec![(0, v("c"))]);
    let report = h.check(&reads);
    assert_eq!(
        report.reordered,
        [Reordering {
            producer: 0,
            partition: 0,
            earlier: v("a"),
            earlier_offset: 1,
            later: v("b"),
            later_offset: 0
        }]
    );
    assert!(
        report.inconsistent.is_empty() && report.lost.is_empty(),
        "{report}"
    );
    assert!(!report.is_safe());
}

#[test]
fn a_value_never_sent_is_unexpected() {
    let report = three_acked().check(&p0(&[(0, "a"), (1, "b"), (2, "c"), (3, "ghost")]));
    report.assert_safe();
    assert_eq!(
        report.unexpected,
        [Unexpected {
            partition: 0,
            offset: 3,
            value: v("ghost")
        }]
    );
    assert!(std::panic::catch_unwind(|| report.assert_no_unexpected()).is_err());
}

#[test]
fn a_failed_send_that_landed_is_counted_not_flagged() {
    let mut h = History::new();
    h.record(0, "a", 0, Outcome::Failed);
    let report = h.check(&p0(&[(0, "a")]));
    report.assert_safe();
    report.assert_no_unexpected();
    assert_eq!(report.failed_present, 1);
}

#[test]
fn merged_histories_keep_each_producers_order() {
    let mut a = History::new();
    a.record(0, "a0", 0, Outcome::Ok(0));
    a.record(0, "a1", 0, Outcome::Ok(2));
    let mut b = History::new();
    b.record(1, "b0", 0, Outcome::Ok(1));
    a.merge(b);
    assert_eq!(a.len(), 3);
    a.check(&p0(&[(0, "a0"), (1, "b0"), (2, "a1")]))
        .assert_safe();
}

#[test]
#[should_panic(expected = "recorded twice")]
fn recording_a_value_twice_is_a_test_bug() {
    let mut h = History::new();
    h.record(0, "a", 0, Outcome::Unknown);
    h.record(0, "a", 0, Outcome::Ok(0));
}
