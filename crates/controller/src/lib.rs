//! rill-controller: the quorum controller.
//!
//! Built so far: the pure decision cores the control managers use — replica placement
//! ([`placement`]), leader election ([`election`]) and the broker heartbeat lease
//! ([`heartbeats`]). The Raft log store, state machine, network, event loop and gRPC
//! service follow (see docs/ARCHITECTURE.md).

pub mod election;
mod error;
pub mod heartbeats;
pub mod placement;

pub use error::ControllerError;
