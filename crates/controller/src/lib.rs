//! rill-controller: the quorum controller.
//!
//! Built so far: the pure decision cores the control managers use — replica placement
//! ([`placement`]), leader election ([`election`]) and the broker heartbeat lease
//! ([`heartbeats`]) — and openraft fixed to rill's types with its storage ([`raft`]: the
//! sled log store and the metadata state machine). The Raft network, event loop and
//! gRPC service follow (see docs/ARCHITECTURE.md).

mod atomic_file;
pub mod config_keys;
pub mod election;
mod error;
pub mod event_loop;
pub mod grpc;
pub mod heartbeats;
pub mod manager;
pub mod metadata_stream;
pub mod metrics;
pub mod node;
pub mod placement;
pub mod raft;
mod refusal;

pub use error::ControllerError;
pub use refusal::{ErrorCode, Refusal};
