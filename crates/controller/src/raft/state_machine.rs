//! The Raft state machine: the `MetadataImage`, the last applied log id and the
//! membership. Normal entries carry a `MetadataBatch`, replayed record by record at the
//! entry's index (the metadata offset).
//!
//! Snapshots are the serialized image in a file next to sled, not in sled, written
//! atomically (temp, fsync, rename, fsync dir): `snapshot` holds the postcard-encoded
//! [`SnapshotFile`]. Installing a snapshot replaces the image, and its metadata (last
//! log id, membership) becomes what `applied_state` reports, as openraft requires (the
//! fix for openraft issue #1808 relies on it; see docs/ARCHITECTURE.md).
//!
//! Every applied image is published on a `watch` channel for the controller's event
//! loop and the metadata fetch streams.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{
    BasicNode, Entry, EntryPayload, ErrorSubject, ErrorVerb, LogId, Snapshot, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership,
};
use prost::Message as _;
use rill_metadata::records::MetadataBatch;
use rill_metadata::{MetadataDelta, MetadataImage};
use rill_types::MetadataOffset;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::types::{Applied, NodeId, TypeConfig, decode, encode};
use crate::atomic_file;

/// The file a snapshot is kept in, inside the controller's data directory.
pub const SNAPSHOT_FILE: &str = "metadata.snapshot";

/// What the snapshot file holds.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<NodeId, BasicNode>,
    /// `MetadataImage::encode_snapshot` bytes.
    image: Vec<u8>,
}

#[derive(Debug)]
struct State {
    image: Arc<MetadataImage>,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
    /// Counts snapshots built by this process, to make snapshot ids unique.
    built: u64,
    /// Entries at or below this index are not served from the local log to metadata
    /// followers: the last snapshot installed (or found at start) covers them, and the
    /// log below it may still hold stale entries of an old term until openraft purges.
    log_floor: u64,
}

/// The metadata state machine. Cheap to clone: clones share state.
#[derive(Debug, Clone)]
pub struct MetadataStateMachine {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
    /// The last log id of the snapshot file on disk. Held while the file is written:
    /// openraft builds snapshots on a spawned task and may install one concurrently, and
    /// an older snapshot must never replace a newer one (the log below the newer one may
    /// already be purged).
    persisted: Arc<Mutex<Option<LogId<NodeId>>>>,
    images: watch::Sender<Arc<MetadataImage>>,
}

fn sm_err(verb: ErrorVerb, e: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::new(
        ErrorSubject::StateMachine,
        verb,
        openraft::AnyError::new(&e),
    )
    .into()
}

fn snapshot_err(
    meta: Option<&SnapshotMeta<NodeId, BasicNode>>,
    verb: ErrorVerb,
    e: impl std::error::Error + 'static,
) -> StorageError<NodeId> {
    let subject = ErrorSubject::Snapshot(meta.map(|m| m.signature()));
    StorageIOError::new(subject, verb, openraft::AnyError::new(&e)).into()
}

impl MetadataStateMachine {
    /// Opens the state machine in `dir`, loading the snapshot file if there is one (the
    /// log after it is re-applied by openraft from the committed log).
    pub fn open(dir: &Path) -> Result<Self, StorageError<NodeId>> {
        std::fs::create_dir_all(dir).map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let mut state = State {
            image: Arc::new(MetadataImage::default()),
            last_applied: None,
            membership: StoredMembership::default(),
            built: 0,
            log_floor: 0,
        };
        let mut persisted = None;
        if let Some(file) = read_snapshot_file(dir)? {
            let image = decode_image(&file.meta, &file.image)?;
            state.image = Arc::new(image);
            state.last_applied = file.meta.last_log_id;
            state.membership = file.meta.last_membership.clone();
            state.log_floor = file.meta.last_log_id.map_or(0, |l| l.index);
            persisted = file.meta.last_log_id;
        }
        let (images, _) = watch::channel(state.image.clone());
        Ok(Self {
            dir: dir.to_owned(),
            state: Arc::new(Mutex::new(state)),
            persisted: Arc::new(Mutex::new(persisted)),
            images,
        })
    }

    /// The current image.
    pub fn image(&self) -> Arc<MetadataImage> {
        self.lock().image.clone()
    }

    /// The index of the last applied log entry (0 before any).
    pub fn applied_index(&self) -> u64 {
        self.lock().last_applied.map_or(0, |l| l.index)
    }

    /// The current image and the index of the last applied entry, read together.
    pub fn view(&self) -> (Arc<MetadataImage>, u64) {
        let state = self.lock();
        (
            state.image.clone(),
            state.last_applied.map_or(0, |l| l.index),
        )
    }

    /// See `State::log_floor`.
    pub fn log_floor(&self) -> u64 {
        self.lock().log_floor
    }

    /// Writes the snapshot file unless the one on disk is as new or newer; `true` if
    /// written.
    fn persist(&self, file: &SnapshotFile) -> Result<bool, StorageError<NodeId>> {
        let meta = &file.meta;
        let mut persisted = self.persisted.lock().expect("snapshot file lock poisoned");
        if persisted.is_some() && *persisted >= meta.last_log_id {
            return Ok(false);
        }
        let bytes = encode(file).map_err(|e| snapshot_err(Some(meta), ErrorVerb::Write, e))?;
        atomic_file::write(&self.dir.join(SNAPSHOT_FILE), &bytes)
            .map_err(|e| snapshot_err(Some(meta), ErrorVerb::Write, e))?;
        *persisted = meta.last_log_id;
        Ok(true)
    }

    /// A receiver that sees every newly applied image.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.images.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state machine lock poisoned")
    }
}

/// The image after one entry's records, or why they do not replay (then none apply).
fn replay_entry(
    image: &MetadataImage,
    offset: MetadataOffset,
    batch: &[u8],
) -> Result<MetadataImage, String> {
    let batch = MetadataBatch::decode(batch).map_err(|e| e.to_string())?;
    let mut delta = MetadataDelta::new(image);
    for record in &batch.records {
        delta.replay(offset, record).map_err(|e| e.to_string())?;
    }
    Ok(delta.apply().0)
}

fn read_snapshot_file(dir: &Path) -> Result<Option<SnapshotFile>, StorageError<NodeId>> {
    let path = dir.join(SNAPSHOT_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => decode(&bytes)
            .map(Some)
            .map_err(|e| snapshot_err(None, ErrorVerb::Read, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(snapshot_err(None, ErrorVerb::Read, e)),
    }
}

fn decode_image(
    meta: &SnapshotMeta<NodeId, BasicNode>,
    bytes: &[u8],
) -> Result<MetadataImage, StorageError<NodeId>> {
    let offset = MetadataOffset::new(meta.last_log_id.map_or(0, |l| l.index));
    MetadataImage::decode_snapshot(bytes, offset)
        .map_err(|e| snapshot_err(Some(meta), ErrorVerb::Read, e))
}

impl RaftSnapshotBuilder<TypeConfig> for MetadataStateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let (meta, image) = {
            let mut state = self.lock();
            state.built += 1;
            let last = state.last_applied;
            let meta = SnapshotMeta {
                last_log_id: last,
                last_membership: state.membership.clone(),
                snapshot_id: format!(
                    "{}-{}-{}",
                    last.map_or(0, |l| l.leader_id.term),
                    last.map_or(0, |l| l.index),
                    state.built
                ),
            };
            (meta, state.image.encode_snapshot())
        };
        let file = SnapshotFile {
            meta: meta.clone(),
            image,
        };
        if !self.persist(&file)? {
            tracing::debug!(snapshot = %meta.snapshot_id, "a newer snapshot is on disk; not replaced");
        }
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(file.image)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for MetadataStateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        let state = self.lock();
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Applied>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        let mut state = self.lock();
        let mut image = state.image.clone();
        let mut last_applied = state.last_applied;
        let mut membership = state.membership.clone();
        for entry in entries {
            match &entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(write) => {
                    let offset = MetadataOffset::new(entry.log_id.index);
                    match replay_entry(&image, offset, &write.batch) {
                        Ok(next) => image = Arc::new(next),
                        // Every controller replays the same log the same way, so every one
                        // skips this entry alike; stopping instead would stop the quorum
                        // for good, since each restart replays it again (decision 29).
                        Err(e) => tracing::error!(
                            offset = offset.get(),
                            error = %e,
                            "a committed metadata entry does not replay; skipped whole"
                        ),
                    }
                }
                EntryPayload::Membership(m) => {
                    membership = StoredMembership::new(Some(entry.log_id), m.clone());
                }
            }
            last_applied = Some(entry.log_id);
            out.push(Applied);
        }
        state.image = image;
        state.last_applied = last_applied;
        state.membership = membership;
        self.images.send_replace(state.image.clone());
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let bytes = snapshot.into_inner();
        let image = decode_image(meta, &bytes)?;
        let file = SnapshotFile {
            meta: meta.clone(),
            image: bytes,
        };
        self.persist(&file)?;
        let mut state = self.lock();
        state.log_floor = meta.last_log_id.map_or(0, |l| l.index);
        state.image = Arc::new(image);
        state.last_applied = meta.last_log_id;
        state.membership = meta.last_membership.clone();
        self.images.send_replace(state.image.clone());
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        Ok(read_snapshot_file(&self.dir)?.map(|file| Snapshot {
            meta: file.meta,
            snapshot: Box::new(Cursor::new(file.image)),
        }))
    }
}
