//! rill's internal RPCs and metadata records, generated from `proto/` at build time
//! (protox + tonic-prost-build; no `protoc` needed), and the conversions between the
//! generated messages and the newtypes of `rill-types`.
//!
//! Layout: one module per protobuf package (`common`, `raft`, `controller`, ...); the
//! conversions live in `convert/`, one file per type. Transport types (`tonic::Status`,
//! channels) stay in the gRPC adapters of the crates that serve or call these services,
//! never in domain logic.
//!
//! Feature `grpc` adds the tonic clients and servers of each service (e.g.
//! `raft::raft_service_server`); without it the crate is messages only and depends on
//! neither tonic nor tokio.

#[cfg(feature = "grpc")]
pub mod controller_client;
mod convert;
mod error;
#[cfg(feature = "grpc")]
mod incoming;
#[cfg(feature = "grpc")]
pub mod reflection;

pub use convert::required;
pub use error::ConvertError;
#[cfg(feature = "grpc")]
pub use incoming::incoming;

// The generated code carries the .proto comments as docs; every message and field there
// is documented. A few generated items (oneof modules, service traits' helpers) have no
// source comment, so the docs lint is relaxed for the generated modules only.

/// Identifier and position types shared by every RPC (`proto/common.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod common {
    include!(concat!(env!("OUT_DIR"), "/rill.common.rs"));
}

/// The Raft transport between controller quorum members (`proto/raft.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod raft {
    include!(concat!(env!("OUT_DIR"), "/rill.raft.rs"));
}

/// The cluster metadata records (`proto/metadata.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod metadata {
    include!(concat!(env!("OUT_DIR"), "/rill.metadata.rs"));
}

/// The controller's service for brokers (`proto/controller.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod controller {
    include!(concat!(env!("OUT_DIR"), "/rill.controller.rs"));
}

/// Replication between brokers (`proto/replication.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod replication {
    include!(concat!(env!("OUT_DIR"), "/rill.replication.rs"));
}

/// A broker's data API: produce, fetch, offsets, metadata (`proto/data.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod data {
    include!(concat!(env!("OUT_DIR"), "/rill.data.rs"));
}

/// Consumer-group administration on brokers (`proto/group.proto`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod group {
    include!(concat!(env!("OUT_DIR"), "/rill.group.rs"));
}

/// The encoded `FileDescriptorSet` of every file in `proto/`, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/rill_descriptor.bin"));
