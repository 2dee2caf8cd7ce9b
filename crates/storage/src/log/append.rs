//! Appending: as the leader (the log assigns offsets and stamps the leader epoch) or as
//! a follower (batches arrive with the leader's offsets and epochs and are kept as-is).
//! Both keep the idempotent-producer state; only the leader checks against it.

use std::os::unix::fs::FileExt as _;

use rill_types::{LeaderEpoch, Offset};

use super::Log;
use crate::batch::{self, BatchHeader};
use crate::config::TimestampType;
use crate::error::{IoContext as _, Result, StorageError};
use crate::producer_state::{ProducerBatch, Verdict};

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record appended.
    pub first_offset: Offset,
    /// Offset of the last record appended.
    pub last_offset: Offset,
    /// The append time stamped into the batches (LogAppendTime topics), else `None`.
    pub log_append_time: Option<i64>,
    /// The log start offset after the append.
    pub log_start_offset: Offset,
    /// Number of records appended.
    pub record_count: u64,
    /// Every batch was a retry of one an idempotent producer appended before: nothing was
    /// appended, and the offsets (and append time) are the originals'.
    pub duplicate: bool,
}

impl Log {
    /// Appends producer batches as the partition leader in `epoch`: each batch is
    /// validated (whole, CRC, counts, `max.message.bytes`), gets the next offsets and the
    /// epoch (and the append time on LogAppendTime topics), and is stored byte for byte
    /// otherwise. `records` is one or more batches back to back; it is stamped in place.
    /// Batches of idempotent producers are checked against the producer state (see
    /// `producer_state.rs`): an append that only retries batches appended before
    /// appends nothing and answers with the original offsets (`duplicate`). Nothing is
    /// appended when any batch is invalid or out of sequence.
    pub fn append_as_leader(
        &mut self,
        records: &mut [u8],
        epoch: LeaderEpoch,
    ) -> Result<AppendInfo> {
        self.ensure_ok()?;
        let headers = self.validate(records, true)?;
        let now = self.clock.now_ms();
        let stamp_time = self.config.message_timestamp_type == TimestampType::LogAppendTime;
        let (log_end, log_start) = {
            let state = self.shared.lock();
            (state.log_end, state.log_start)
        };
        self.producers.expire(now);
        let mut next = log_end;
        let planned: Vec<Option<ProducerBatch>> = headers
            .iter()
            .map(|(_, header)| {
                let batch = ProducerBatch::of(header, next);
                next = Offset::new(next.get() + i64::from(header.last_offset_delta) + 1);
                batch
            })
            .collect();
        if let Verdict::Duplicate {
            first_offset,
            last_offset,
            max_timestamp,
        } = self.producers.check(&planned)?
        {
            return Ok(AppendInfo {
                first_offset,
                last_offset,
                log_append_time: stamp_time.then_some(max_timestamp),
                log_start_offset: log_start,
                record_count: 0,
                duplicate: true,
            });
        }
        let mut next = log_end;
        let mut stamped = Vec::with_capacity(headers.len());
        for (at, header) in &headers {
            let bytes = &mut records[*at..*at + header.total_size()];
            batch::set_base_offset(bytes, next);
            batch::set_leader_epoch(bytes, epoch);
            if stamp_time {
                batch::set_log_append_time(bytes, now);
            }
            let header = BatchHeader::parse(bytes).expect("re-parse a stamped, validated batch");
            next = header.next_offset();
            stamped.push((*at, header));
        }
        let mut info = self.write(records, &stamped, now)?;
        info.log_append_time = stamp_time.then_some(now);
        Ok(info)
    }

    /// Appends batches copied from the leader, as a follower: offsets and leader epochs
    /// are the leader's and are kept. Each batch must be whole and CRC-valid, and the
    /// first must not start below the log end (an offset never gets a second value);
    /// gaps are allowed (the leader's log may be compacted).
    pub fn append_as_follower(&mut self, records: &[u8]) -> Result<AppendInfo> {
        self.ensure_ok()?;
        let headers = self.validate(records, false)?;
        let log_end = self.log_end_offset();
        if let Some((_, first)) = headers.first()
            && first.base_offset < log_end
        {
            return Err(StorageError::NonMonotonicOffset {
                base: first.base_offset,
                log_end,
            });
        }
        let now = self.clock.now_ms();
        self.write(records, &headers, now)
    }

    /// Checks every batch in `records`; returns (position, header) for each.
    fn validate(&self, records: &[u8], produced: bool) -> Result<Vec<(usize, BatchHeader)>> {
        let max = self.config.max_batch_bytes();
        let mut headers = Vec::new();
        let mut at = 0;
        let mut previous: Option<Offset> = None;
        while at < records.len() {
            let invalid = |reason: String| StorageError::InvalidBatch {
                position: at,
                reason,
            };
            let header = BatchHeader::parse(&records[at..]).map_err(invalid)?;
            let size = header.total_size();
            if size > max {
                return Err(StorageError::BatchTooLarge { size, max });
            }
            let Some(bytes) = records.get(at..at + size) else {
                return Err(invalid(format!(
                    "batch claims {size} bytes but {} remain",
                    records.len() - at
                )));
            };
            if produced {
                header.validate_produced(bytes).map_err(invalid)?;
            } else {
                if !header.crc_matches(bytes) {
                    return Err(invalid("CRC32C mismatch".to_owned()));
                }
                if header.last_offset_delta < 0 || previous.is_some_and(|p| header.base_offset <= p)
                {
                    return Err(invalid("batch offsets out of order".to_owned()));
                }
                previous = Some(header.last_offset());
            }
            headers.push((at, header));
            at += size;
        }
        if headers.is_empty() {
            return Err(StorageError::InvalidBatch {
                position: 0,
                reason: "no record batch to append".to_owned(),
            });
        }
        Ok(headers)
    }

    /// Writes validated, stamped batches at the log end, rolling first when due: the epoch
    /// cache first (durably, when a batch starts an epoch), then the batches; then
    /// publishes them to readers and updates the producer state and flush policy.
    fn write(
        &mut self,
        records: &[u8],
        headers: &[(usize, BatchHeader)],
        now: i64,
    ) -> Result<AppendInfo> {
        let (first, last) = (
            headers.first().expect("validated non-empty").1.base_offset,
            headers.last().expect("validated non-empty").1.last_offset(),
        );
        let roll_due = {
            let state = self.shared.lock();
            state
                .active()
                .should_roll(records.len(), last, &self.config, now)
        };
        if roll_due {
            self.roll()?;
        }
        let (file, path, position) = {
            let state = self.shared.lock();
            let active = state.active();
            (
                active.file().clone(),
                active.path().to_owned(),
                active.size(),
            )
        };
        // The epoch cache is made durable BEFORE the batches that start a new epoch are
        // written (Kafka's order too): a crash between the two leaves an entry at or
        // past the log end, which `open` drops. The other order could leave batches of an
        // epoch the cache does not know, and a restarted follower would then send no
        // (or an older) last-fetched epoch and keep a suffix the leader does not have:
        // two replicas holding different batches at one offset.
        let mut epochs_changed = false;
        for (_, header) in headers {
            epochs_changed |= self.epochs.assign(header.leader_epoch, header.base_offset);
        }
        if epochs_changed && let Err(e) = self.epochs.persist(&*self.disk) {
            self.epochs.truncate_from_end(first);
            return Err(self.fail(e));
        }
        if let Err(e) = file
            .write_all_at(records, position)
            .io_context("append", &path)
        {
            self.epochs.truncate_from_end(first);
            return Err(self.fail(e));
        }
        let log_start = {
            let mut state = self.shared.lock();
            state
                .active_mut()
                .record_append(position, records.len(), headers, &self.config, now);
            state.log_end = last.next();
            state.log_start
        };

        for (_, header) in headers {
            if let Some(batch) = ProducerBatch::of(header, header.base_offset) {
                self.producers.update(&batch, now);
            }
        }

        let record_count: u64 = headers
            .iter()
            .map(|(_, h)| u64::try_from(h.record_count).unwrap_or(0))
            .sum();
        self.unflushed_records += record_count;
        if !self.defer_policy_flush && self.policy_flush_due() {
            self.flush()?;
        }
        Ok(AppendInfo {
            first_offset: first,
            last_offset: last,
            log_append_time: None,
            log_start_offset: log_start,
            record_count,
            duplicate: false,
        })
    }
}
