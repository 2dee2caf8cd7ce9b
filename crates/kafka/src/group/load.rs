//! Leadership of `__consumer_offsets` partitions: when this broker becomes a
//! partition's leader it reads the partition from its log start to its high watermark
//! (once the high watermark has reached the log end, so every write the old leader
//! acknowledged is read) and rebuilds the partition's groups — the latest value per
//! key, tombstones deleting. Requests meanwhile get COORDINATOR_LOAD_IN_PROGRESS. A
//! partition no longer led is dropped with its groups (NOT_COORDINATOR from then on).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::records::RecordBatchDecoder;
use rill_types::{LeaderEpoch, Offset};

use super::coordinator::{GroupCoordinator, Load};
use super::records::{self, GroupValue, OffsetValue, RecordKey, RecordValue};
use super::state::Group;
use super::{CONSUMER_OFFSETS, partition_for};

/// Longest a new leader waits for its high watermark to reach its log end.
const MAX_CATCH_UP: Duration = Duration::from_secs(30);

/// The latest value per key of one partition.
#[derive(Debug, Default)]
struct Replay {
    groups: BTreeMap<String, Option<GroupValue>>,
    offsets: BTreeMap<String, BTreeMap<(String, i32), Option<OffsetValue>>>,
}

impl Replay {
    fn apply(&mut self, key: RecordKey, value: Option<RecordValue>) {
        match (key, value) {
            (RecordKey::Group { group }, Some(RecordValue::Group(v))) => {
                self.groups.insert(group, Some(v));
            }
            (RecordKey::Group { group }, None) => {
                self.groups.insert(group, None);
            }
            (
                RecordKey::Offset {
                    group,
                    topic,
                    partition,
                },
                v,
            ) => {
                let v = match v {
                    Some(RecordValue::Offset(o)) => Some(o),
                    _ => None,
                };
                self.offsets
                    .entry(group)
                    .or_default()
                    .insert((topic, partition), v);
            }
            (RecordKey::Group { .. }, Some(RecordValue::Offset(_))) => {}
        }
    }

    fn into_groups(self, c: &GroupCoordinator) -> HashMap<String, Group> {
        let now = c.now();
        let mut out = HashMap::new();
        for (id, v) in self.groups {
            if let Some(v) = v {
                out.insert(id.clone(), Group::from_value(&id, v, c.limits, now));
            }
        }
        for (id, offsets) in self.offsets {
            let live: Vec<_> = offsets
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            if live.is_empty() {
                continue;
            }
            let g = out
                .entry(id.clone())
                .or_insert_with(|| Group::new(&id, c.limits, now));
            g.offsets.extend(live);
        }
        out
    }
}

impl GroupCoordinator {
    /// Compares the partitions this broker leads with those it holds: starts loads,
    /// drops what it no longer leads.
    pub(super) fn follow_leadership(self: &Arc<Self>) {
        let Some(n) = self.offsets_partitions() else {
            return;
        };
        let led: BTreeMap<i32, LeaderEpoch> = (0..n)
            .filter_map(|p| {
                let v = self.rm.by_name(CONSUMER_OFFSETS, p).ok()?.hw_view();
                v.leading.then_some((p, v.leader_epoch))
            })
            .collect();
        let mut inner = self.lock();
        let held: Vec<(i32, Load)> = inner.partitions.iter().map(|(p, l)| (*p, *l)).collect();
        for (p, load) in held {
            let epoch = match load {
                Load::Loading(e) | Load::Loaded(e) => e,
            };
            if led.get(&p) != Some(&epoch) {
                tracing::info!(
                    partition = p,
                    "no longer coordinating __consumer_offsets partition"
                );
                inner.partitions.remove(&p);
                inner.groups.retain(|id, _| partition_for(id, n) != p);
            }
        }
        for (p, epoch) in led {
            if inner.partitions.contains_key(&p) {
                continue;
            }
            inner.partitions.insert(p, Load::Loading(epoch));
            let me = Arc::clone(self);
            tokio::spawn(async move { me.load(p, epoch).await });
        }
        drop(inner);
        self.wake();
    }

    /// Whether every `__consumer_offsets` partition this broker leads is loaded at its
    /// current leader epoch, so the groups it holds are all the groups it coordinates
    /// (a listing is complete). False until the background task has seen and loaded
    /// them.
    pub fn settled(&self) -> bool {
        let Some(n) = self.offsets_partitions() else {
            return true;
        };
        let led: Vec<(i32, LeaderEpoch)> = (0..n)
            .filter_map(|p| {
                let v = self.rm.by_name(CONSUMER_OFFSETS, p).ok()?.hw_view();
                v.leading.then_some((p, v.leader_epoch))
            })
            .collect();
        let inner = self.lock();
        led.iter()
            .all(|(p, e)| inner.partitions.get(p) == Some(&Load::Loaded(*e)))
    }

    /// Loads partition `p` led at `epoch`, then installs its groups (unless leadership
    /// moved meanwhile). A failed load is forgotten, so the next tick retries.
    async fn load(self: Arc<Self>, p: i32, epoch: LeaderEpoch) {
        let started = std::time::Instant::now();
        let result = self.replay(p, epoch).await;
        let mut inner = self.lock();
        if inner.partitions.get(&p) != Some(&Load::Loading(epoch)) {
            return;
        }
        match result {
            Ok(replay) => {
                let groups = replay.into_groups(&self);
                tracing::info!(partition = p, %epoch, groups = groups.len(), elapsed_ms = started.elapsed().as_millis() as u64, "__consumer_offsets partition loaded");
                inner.groups.extend(groups);
                inner.partitions.insert(p, Load::Loaded(epoch));
            }
            Err(e) => {
                tracing::warn!(partition = p, error = %e, "__consumer_offsets load failed; retrying");
                inner.partitions.remove(&p);
            }
        }
        drop(inner);
        self.wake();
    }

    async fn replay(&self, p: i32, epoch: LeaderEpoch) -> Result<Replay, String> {
        let part = self
            .rm
            .by_name(CONSUMER_OFFSETS, p)
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + MAX_CATCH_UP;
        let hw = loop {
            let v = part.hw_view();
            if !v.leading || v.leader_epoch != epoch {
                return Err("leadership moved".into());
            }
            let (_, _, log_end, _) = part.snapshot();
            if v.high_watermark >= log_end {
                break v.high_watermark;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err("the high watermark did not reach the log end".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let start = {
            let part = part.clone();
            tokio::task::spawn_blocking(move || part.list_offset(-2))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?
                .0
                .unwrap_or(Offset::ZERO)
        };
        let mut replay = Replay::default();
        let mut next = start;
        while next < hw {
            let (read, _) = part
                .read_for_consumer(next, 1 << 20)
                .map_err(|e| e.to_string())?;
            if read.records.is_empty() {
                break;
            }
            let mut buf = read.records;
            let before = next;
            for set in RecordBatchDecoder::decode_all(&mut buf).map_err(|e| e.to_string())? {
                for r in set.records {
                    if r.offset < next.get() || r.offset >= hw.get() {
                        continue;
                    }
                    next = Offset::new(r.offset + 1);
                    if r.control {
                        continue;
                    }
                    let Some(k) = r.key else { continue };
                    match records::decode_key(k) {
                        Ok(key) => match records::decode_value(&key, r.value) {
                            Ok(v) => replay.apply(key, v),
                            Err(e) => {
                                tracing::warn!(partition = p, offset = r.offset, error = %e, "skipped")
                            }
                        },
                        Err(e) => {
                            tracing::warn!(partition = p, offset = r.offset, error = %e, "skipped")
                        }
                    }
                }
            }
            if next == before {
                // Only records below `next` came back (e.g. a compacted batch): skip on.
                next = next.next();
            }
        }
        Ok(replay)
    }
}
