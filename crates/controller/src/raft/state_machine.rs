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
}

/// The metadata state machine. Cheap to clone: clones share state.
#[derive(Debug, Clone)]
pub struct MetadataStateMachine {
    dir: PathBuf,
    state: Arc<Mutex<State>>,
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
        };
        if let Some(file) = read_snapshot_file(dir)? {
            let image = decode_image(&file.meta, &file.image)?;
            state.image = Arc::new(image);
            state.last_applied = file.meta.last_log_id;
            state.membership = file.meta.last_membership.clone();
        }
        let (images, _) = watch::channel(state.image.clone());
        Ok(Self {
            dir: dir.to_owned(),
            state: Arc::new(Mutex::new(state)),
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

    /// A receiver that sees every newly applied image.
    pub fn subscribe(&self) -> watch::Receiver<Arc<MetadataImage>> {
        self.images.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state machine lock poisoned")
    }
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
        let bytes = encode(&file).map_err(|e| snapshot_err(Some(&meta), ErrorVerb::Write, e))?;
        atomic_file::write(&self.dir.join(SNAPSHOT_FILE), &bytes)
            .map_err(|e| snapshot_err(Some(&meta), ErrorVerb::Write, e))?;
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
        let mut delta = MetadataDelta::new(&state.image);
        for entry in entries {
            match &entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(write) => {
                    let batch = MetadataBatch::decode(write.batch.as_slice())
                        .map_err(|e| sm_err(ErrorVerb::Read, e))?;
                    let offset = MetadataOffset::new(entry.log_id.index);
                    for record in &batch.records {
                        // A committed record that does not replay is a bug or corruption:
                        // stop here (openraft then stops this node) rather than skip it.
                        delta
                            .replay(offset, record)
                            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
                    }
                }
                EntryPayload::Membership(m) => {
                    state.membership = StoredMembership::new(Some(entry.log_id), m.clone());
                }
            }
            state.last_applied = Some(entry.log_id);
            out.push(Applied);
        }
        let (image, _) = delta.apply();
        state.image = Arc::new(image);
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
        let encoded = encode(&file).map_err(|e| snapshot_err(Some(meta), ErrorVerb::Write, e))?;
        atomic_file::write(&self.dir.join(SNAPSHOT_FILE), &encoded)
            .map_err(|e| snapshot_err(Some(meta), ErrorVerb::Write, e))?;
        let mut state = self.lock();
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
