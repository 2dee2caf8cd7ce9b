//! The broker's metrics, through the `metrics` facade (the binary installs the
//! Prometheus recorder; without one every call here is a no-op).
//!
//! Names follow Prometheus conventions; each one's doc names the Kafka metric it stands
//! for, so dashboards can be ported. Counters are bumped where the event happens; the
//! partition-state gauges are computed from the replicas in [`refresh`], which the
//! metrics endpoint calls before every scrape, so they are never stale and cost nothing
//! between scrapes.

use metrics::{Unit, counter, describe_counter, describe_gauge, gauge};

use crate::replica_manager::ReplicaManager;

/// Counter, label `topic`: records appended as leader (Kafka's MessagesInPerSec).
pub const MESSAGES_IN: &str = "rill_broker_messages_in_total";
/// Counter, label `topic`: record bytes appended as leader (BytesInPerSec).
pub const BYTES_IN: &str = "rill_broker_bytes_in_total";
/// Counter, label `topic`: record bytes served to consumers (BytesOutPerSec).
pub const BYTES_OUT: &str = "rill_broker_bytes_out_total";
/// Counter: ISR shrinks this broker committed as leader (IsrShrinksPerSec).
pub const ISR_SHRINKS: &str = "rill_broker_isr_shrinks_total";
/// Counter: ISR expansions this broker committed as leader (IsrExpandsPerSec).
pub const ISR_EXPANDS: &str = "rill_broker_isr_expands_total";
/// Gauge: led partitions whose ISR is smaller than the replica set
/// (UnderReplicatedPartitions).
pub const UNDER_REPLICATED: &str = "rill_broker_under_replicated_partitions";
/// Gauge: led partitions whose ISR is below `min.insync.replicas`
/// (UnderMinIsrPartitionCount).
pub const UNDER_MIN_ISR: &str = "rill_broker_under_min_isr_partitions";
/// Gauge: partitions this broker leads (LeaderCount).
pub const LEADERS: &str = "rill_broker_leader_partitions";
/// Gauge: replicas this broker hosts (PartitionCount).
pub const REPLICAS: &str = "rill_broker_partitions";
/// Gauge: the metadata offset this broker has reconciled its replicas to; the
/// controller's `rill_controller_broker_metadata_lag` is measured against it.
pub const METADATA_APPLIED: &str = "rill_broker_metadata_applied_offset";
/// Gauge: whether the controller has this broker fenced (1) or not (0).
pub const FENCED: &str = "rill_broker_fenced";

/// Records one leader append of `records` records and `bytes` bytes to `topic`.
pub fn appended(topic: &str, records: u64, bytes: usize) {
    counter!(MESSAGES_IN, "topic" => topic.to_owned()).increment(records);
    counter!(BYTES_IN, "topic" => topic.to_owned()).increment(bytes as u64);
}

/// Records `bytes` of records served to a consumer from `topic`.
pub fn served(topic: &str, bytes: usize) {
    if bytes > 0 {
        counter!(BYTES_OUT, "topic" => topic.to_owned()).increment(bytes as u64);
    }
}

/// Records a committed ISR change from `before` members to `after`, as the leader
/// applies it: its own AlterPartition answered, or a change the controller made (a
/// fenced broker removed) arriving in the metadata log. Each committed change is counted
/// once, by the leader of its partition.
pub fn isr_changed(before: usize, after: usize) {
    if after < before {
        counter!(ISR_SHRINKS).increment(1);
    } else if after > before {
        counter!(ISR_EXPANDS).increment(1);
    }
}

/// What the partition-state gauges count, from every hosted replica.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PartitionCounts {
    /// Replicas hosted.
    pub replicas: usize,
    /// Partitions led.
    pub leaders: usize,
    /// Led partitions with ISR < replicas.
    pub under_replicated: usize,
    /// Led partitions with ISR < min.insync.replicas.
    pub under_min_isr: usize,
}

impl PartitionCounts {
    /// The counts over `rm`'s replicas now.
    pub fn of(rm: &ReplicaManager) -> Self {
        let mut c = Self::default();
        for p in rm.all() {
            c.replicas += 1;
            if let Some(h) = p.leader_health() {
                c.leaders += 1;
                c.under_replicated += usize::from(h.isr < h.replicas);
                c.under_min_isr += usize::from(h.isr < h.min_isr);
            }
        }
        c
    }
}

/// Sets the partition-state gauges from `rm`'s replicas, and the fencing gauge.
pub fn refresh(rm: &ReplicaManager, fenced: bool) {
    let c = PartitionCounts::of(rm);
    gauge!(REPLICAS).set(c.replicas as f64);
    gauge!(LEADERS).set(c.leaders as f64);
    gauge!(UNDER_REPLICATED).set(c.under_replicated as f64);
    gauge!(UNDER_MIN_ISR).set(c.under_min_isr as f64);
    gauge!(FENCED).set(if fenced { 1.0 } else { 0.0 });
}

/// Registers the help text and unit of every broker metric (once, at start-up).
pub fn describe() {
    describe_counter!(
        MESSAGES_IN,
        "Records appended as partition leader, per topic."
    );
    describe_counter!(
        BYTES_IN,
        Unit::Bytes,
        "Record bytes appended as partition leader, per topic."
    );
    describe_counter!(
        BYTES_OUT,
        Unit::Bytes,
        "Record bytes served to consumers, per topic."
    );
    describe_counter!(
        ISR_SHRINKS,
        "ISR shrinks committed by this broker as leader."
    );
    describe_counter!(
        ISR_EXPANDS,
        "ISR expansions committed by this broker as leader."
    );
    describe_gauge!(
        UNDER_REPLICATED,
        "Led partitions whose ISR is smaller than their replica set."
    );
    describe_gauge!(
        UNDER_MIN_ISR,
        "Led partitions whose ISR is below min.insync.replicas."
    );
    describe_gauge!(LEADERS, "Partitions this broker leads.");
    describe_gauge!(REPLICAS, "Partition replicas this broker hosts.");
    describe_gauge!(
        METADATA_APPLIED,
        "The metadata offset this broker has reconciled its replicas to."
    );
    describe_gauge!(
        FENCED,
        "1 while the controller has this broker fenced, else 0."
    );
}
