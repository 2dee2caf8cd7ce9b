//! [`BrokerRegistration`]: what the cluster knows of one broker.

use rill_proto::common::Endpoint;
use rill_types::BrokerId;

/// A registered broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    /// The broker's id.
    pub id: BrokerId,
    /// The process incarnation that registered.
    pub incarnation_id: Vec<u8>,
    /// Where it listens.
    pub listeners: Vec<Endpoint>,
    /// Its rack, if any.
    pub rack: Option<String>,
    /// The broker epoch (metadata offset of its registration record).
    pub epoch: i64,
    /// Fenced brokers may not lead or be in an ISR. Registration starts fenced.
    pub fenced: bool,
    /// Set by a controlled shutdown: it leads nothing and gets no new leaderships.
    pub in_controlled_shutdown: bool,
}

impl BrokerRegistration {
    /// Whether the broker may lead partitions and join ISRs.
    pub fn is_active(&self) -> bool {
        !self.fenced && !self.in_controlled_shutdown
    }
}
