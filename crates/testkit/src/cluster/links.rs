//! Link faults between brokers, through the fault proxies (`ClusterSpec::fault_proxies`).
//!
//! A link is directed by who connects: (follower, leader) carries the follower's fetches
//! to the leader and the leader's answers back, so faulting it starves that follower of
//! that leader's partitions in both directions. Links to the controllers and from
//! clients are not proxied: an isolated broker still heartbeats to the quorum.

use rill_types::BrokerId;

use super::Cluster;
use crate::proxy::{FaultProxy, ProxyMode};

impl Cluster {
    /// The proxy `follower` reaches `leader` through. Panics if the cluster has no fault
    /// proxies or no such brokers (a bug in the test).
    pub fn link(&self, follower: impl Into<BrokerId>, leader: impl Into<BrokerId>) -> &FaultProxy {
        let key = (follower.into(), leader.into());
        assert!(
            !self.links.is_empty(),
            "this cluster has no fault proxies: set ClusterSpec::fault_proxies"
        );
        self.links
            .get(&key)
            .unwrap_or_else(|| panic!("no link from broker {} to broker {}", key.0, key.1))
    }

    /// Sets the mode of one link.
    pub fn set_link(
        &self,
        follower: impl Into<BrokerId>,
        leader: impl Into<BrokerId>,
        mode: ProxyMode,
    ) {
        self.link(follower, leader).set_mode(mode);
    }

    /// Cuts the link: its connections are closed and new ones refused (mode `Drop`).
    pub fn cut_link(&self, follower: impl Into<BrokerId>, leader: impl Into<BrokerId>) {
        self.set_link(follower, leader, ProxyMode::Drop);
    }

    /// Restores the link (mode `Pass`).
    pub fn heal_link(&self, follower: impl Into<BrokerId>, leader: impl Into<BrokerId>) {
        self.set_link(follower, leader, ProxyMode::Pass);
    }

    /// Blackholes every link to and from `broker`: it neither fetches from nor serves
    /// fetches to any other broker (connections stay open, nothing moves).
    pub fn isolate_broker(&self, broker: impl Into<BrokerId>) {
        let broker = broker.into();
        let mut touched = 0;
        for ((follower, leader), proxy) in &self.links {
            if *follower == broker || *leader == broker {
                proxy.set_mode(ProxyMode::Blackhole);
                touched += 1;
            }
        }
        assert!(
            touched > 0,
            "no links of broker {broker}: are fault proxies on?"
        );
    }

    /// Restores every link (mode `Pass`).
    pub fn heal_all(&self) {
        for proxy in self.links.values() {
            proxy.set_mode(ProxyMode::Pass);
        }
    }
}
