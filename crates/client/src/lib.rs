//! rill-client: Rust clients of rill's gRPC services.
//!
//! [`ControllerClient`] talks to the controller quorum: it is given every controller's
//! address, and sends each call to the one it believes active; when a controller answers
//! NOT_CONTROLLER (naming the leader, or not yet knowing one), or cannot be reached, it
//! moves on and retries, within a deadline.

pub use rill_proto::controller_client::{ClientError, ControllerClient};
