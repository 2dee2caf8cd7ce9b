//! openraft, fixed to rill's types once: the type config, the sled log store and the
//! metadata state machine. Everything else in the crate uses the concrete aliases here,
//! never openraft's generic parameters.

// openraft's `StorageError` is large (it carries the subject and a boxed source); its trait
// methods return it, so our helpers return it too rather than box and unbox it.
#![allow(clippy::result_large_err)]

mod identity;
mod log_store;
mod network;
mod service;
mod state_machine;
mod types;

pub use identity::{CLUSTER_ID_HEADER, ClusterIdentity, admit};
pub use log_store::SledLogStore;
pub use network::GrpcNetworkFactory;
pub use service::RaftGrpcService;
pub use state_machine::MetadataStateMachine;
pub use types::{Applied, MetadataWrite, NodeId, TypeConfig, decode, encode};
