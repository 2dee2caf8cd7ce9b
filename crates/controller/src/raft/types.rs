//! The one openraft type configuration, and the compact encoding of its messages.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

/// A Raft node id: a controller's `node.id`.
pub type NodeId = u64;

/// The payload of a normal Raft entry: one write's metadata records, as an encoded
/// `MetadataBatch` (protobuf), committed and replayed all together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataWrite {
    /// `rill_metadata::records::MetadataBatch`, protobuf-encoded.
    pub batch: Vec<u8>,
}

/// What applying an entry answers. The controller computes a write's response before
/// proposing it (KRaft's model), so the state machine has nothing to add.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied;

openraft::declare_raft_types!(
    /// rill's openraft configuration.
    pub TypeConfig:
        D = MetadataWrite,
        R = Applied,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// Encodes a serde value compactly (postcard): log entries in sled, Raft RPC payloads.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, postcard::Error> {
    postcard::to_allocvec(value)
}

/// Decodes what [`encode`] wrote.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, postcard::Error> {
    postcard::from_bytes(bytes)
}
