//! rill-kafka: the Kafka listener of a broker. Existing Kafka clients (librdkafka,
//! kafka-python, aiokafka, the Java client, kcat) produce, consume and administer rill
//! through it unchanged.
//!
//! Layers, bytes to state:
//! - [`frame`]: size-prefixed frames, the size checked before anything is allocated;
//! - [`codec`]: request header and body decoding, response encoding (sans-IO; the
//!   kafka-protocol crate generated from Kafka's schemas does the field work);
//! - [`apis`]: the table of served APIs and versions — the ApiVersions answer and the
//!   dispatcher are generated from it;
//! - [`handlers`]: one module per API, translating to the broker's data plane
//!   (`rill_broker::data_plane`) or the controller's admin RPCs;
//! - [`codes`]: the one place internal errors become Kafka error codes;
//! - [`server`]: the accept loop and the per-connection loop;
//! - [`group_admin`]: the gRPC group admin service (`proto/group.proto`) brokers serve
//!   beside the data API, over the same group coordinator.

pub mod apis;
pub mod codec;
pub mod codes;
pub mod context;
pub mod error;
pub mod frame;
pub mod group;
pub mod group_admin;
pub mod handlers;
pub mod metrics;
pub mod producer_ids;
pub mod server;

pub use context::{KafkaConfig, KafkaContext};
pub use error::KafkaError;
pub use server::serve;
