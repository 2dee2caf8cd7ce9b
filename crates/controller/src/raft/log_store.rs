//! The Raft log in sled: entries, vote, committed log id, last purged log id.
//!
//! Durability rules (openraft's): an append's callback fires only after
//! `flush_async()` returned, so an entry counts as persisted only once it is on disk; a
//! vote is flushed before `save_vote` returns. Purge writes the new last-purged id
//! (flushed) before deleting entries, so a crash in between leaves extra entries below
//! it, which are never read, rather than a hole.
//!
//! Keys of the `log` tree are big-endian `u64` indexes, so sled's order is log order.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{Entry, ErrorSubject, ErrorVerb, LogId, StorageError, StorageIOError, Vote};

use super::types::{NodeId, TypeConfig, decode, encode};

const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const LAST_PURGED: &[u8] = b"last_purged";

/// The sled-backed Raft log. Cheap to clone: clones share the database.
#[derive(Debug, Clone)]
pub struct SledLogStore {
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
}

fn io_err(
    subject: ErrorSubject<NodeId>,
    verb: ErrorVerb,
    e: impl std::error::Error + 'static,
) -> StorageError<NodeId> {
    StorageIOError::new(subject, verb, openraft::AnyError::new(&e)).into()
}

fn log_err(verb: ErrorVerb, e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    io_err(ErrorSubject::Logs, verb, e)
}

impl SledLogStore {
    /// Opens the log stored in `db`.
    pub fn open(db: sled::Db) -> Result<Self, sled::Error> {
        Ok(Self {
            log: db.open_tree("raft-log")?,
            meta: db.open_tree("raft-meta")?,
            db,
        })
    }

    fn get_meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
        subject: ErrorSubject<NodeId>,
    ) -> Result<Option<T>, StorageError<NodeId>> {
        let Some(bytes) = self
            .meta
            .get(key)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Read, e))?
        else {
            return Ok(None);
        };
        decode(&bytes)
            .map(Some)
            .map_err(|e| io_err(subject, ErrorVerb::Read, e))
    }

    fn put_meta<T: serde::Serialize>(
        &self,
        key: &[u8],
        value: &T,
        subject: ErrorSubject<NodeId>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = encode(value).map_err(|e| io_err(subject.clone(), ErrorVerb::Write, e))?;
        self.meta
            .insert(key, bytes)
            .map_err(|e| io_err(subject, ErrorVerb::Write, e))?;
        Ok(())
    }

    async fn flush(&self, subject: ErrorSubject<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.db
            .flush_async()
            .await
            .map_err(|e| io_err(subject, ErrorVerb::Write, e))?;
        Ok(())
    }

    fn last_entry(&self) -> Result<Option<Entry<TypeConfig>>, StorageError<NodeId>> {
        match self.log.last().map_err(|e| log_err(ErrorVerb::Read, e))? {
            Some((_, bytes)) => decode(&bytes)
                .map(Some)
                .map_err(|e| log_err(ErrorVerb::Read, e)),
            None => Ok(None),
        }
    }

    /// Log entries from `start` (inclusive), at most `max` of them: for brokers fetching
    /// metadata records.
    pub fn entries_from(
        &self,
        start: u64,
        max: usize,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        self.log
            .range(start.to_be_bytes()..)
            .take(max)
            .map(|item| {
                let (_, bytes) = item.map_err(|e| log_err(ErrorVerb::Read, e))?;
                decode(&bytes).map_err(|e| log_err(ErrorVerb::Read, e))
            })
            .collect()
    }
}

fn bound_key(bound: Bound<&u64>) -> Bound<[u8; 8]> {
    match bound {
        Bound::Included(i) => Bound::Included(i.to_be_bytes()),
        Bound::Excluded(i) => Bound::Excluded(i.to_be_bytes()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl RaftLogReader<TypeConfig> for SledLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let range = (bound_key(range.start_bound()), bound_key(range.end_bound()));
        self.log
            .range(range)
            .map(|item| {
                let (_, bytes) = item.map_err(|e| log_err(ErrorVerb::Read, e))?;
                decode(&bytes).map_err(|e| log_err(ErrorVerb::Read, e))
            })
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for SledLogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let last_purged: Option<LogId<NodeId>> = self.get_meta(LAST_PURGED, ErrorSubject::Logs)?;
        let last = self.last_entry()?.map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.filter(|l| Some(*l) > last_purged).or(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.put_meta(VOTE, vote, ErrorSubject::Vote)?;
        self.flush(ErrorSubject::Vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        self.get_meta(VOTE, ErrorSubject::Vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        // Not flushed here: a lost committed id is only re-derived from the quorum.
        self.put_meta(COMMITTED, &committed, ErrorSubject::Store)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self
            .get_meta::<Option<LogId<NodeId>>>(COMMITTED, ErrorSubject::Store)?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut batch = sled::Batch::default();
        for entry in entries {
            let bytes = encode(&entry).map_err(|e| log_err(ErrorVerb::Write, e))?;
            batch.insert(&entry.log_id.index.to_be_bytes(), bytes);
        }
        self.log
            .apply_batch(batch)
            .map_err(|e| log_err(ErrorVerb::Write, e))?;
        // The entries are readable now; they count as persisted only after the flush.
        let flushed = self
            .db
            .flush_async()
            .await
            .map(|_| ())
            .map_err(std::io::Error::other);
        let failed = flushed
            .as_ref()
            .err()
            .map(|e| log_err(ErrorVerb::Write, std::io::Error::other(e.to_string())));
        callback.log_io_completed(flushed);
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut batch = sled::Batch::default();
        for item in self.log.range(log_id.index.to_be_bytes()..) {
            let (key, _) = item.map_err(|e| log_err(ErrorVerb::Delete, e))?;
            batch.remove(key);
        }
        self.log
            .apply_batch(batch)
            .map_err(|e| log_err(ErrorVerb::Delete, e))?;
        self.flush(ErrorSubject::Logs).await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.put_meta(LAST_PURGED, &log_id, ErrorSubject::Logs)?;
        self.flush(ErrorSubject::Logs).await?;
        let mut batch = sled::Batch::default();
        for item in self.log.range(..=log_id.index.to_be_bytes()) {
            let (key, _) = item.map_err(|e| log_err(ErrorVerb::Delete, e))?;
            batch.remove(key);
        }
        self.log
            .apply_batch(batch)
            .map_err(|e| log_err(ErrorVerb::Delete, e))?;
        Ok(())
    }
}
