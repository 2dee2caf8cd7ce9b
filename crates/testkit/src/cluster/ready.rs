//! Readiness: the quorum has a leader, and brokers are registered and unfenced, as the
//! active controller's DescribeCluster says.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rill_proto::controller::{DescribeClusterRequest, DescribeClusterResponse};
use rill_proto::controller_client::ControllerClient;
use rill_types::BrokerId;

use super::Cluster;
use crate::error::{Error, Result};

/// How long one DescribeCluster probe may look for the active controller.
const PROBE_DEADLINE: Duration = Duration::from_secs(2);
/// Pause between probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);
/// How often a long wait prints where it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

impl Cluster {
    /// The active controller's view of the cluster (its leader, voters and brokers).
    pub fn describe_cluster(&self) -> Result<DescribeClusterResponse> {
        self.block_on(describe(self.controller_addrs(), PROBE_DEADLINE))
    }

    /// [`Cluster::describe_cluster`] for async tests: runs on the cluster's runtime
    /// without blocking the caller's.
    pub async fn describe_cluster_async(&self) -> Result<DescribeClusterResponse> {
        self.handle()
            .spawn(describe(self.controller_addrs(), PROBE_DEADLINE))
            .await
            .expect("DescribeCluster task panicked")
    }

    /// The brokers the active controller lists as registered and unfenced.
    pub fn unfenced_brokers(&self) -> Result<BTreeSet<BrokerId>> {
        Ok(unfenced(&self.describe_cluster()?))
    }

    /// Waits until the quorum has a leader and every running broker is unfenced.
    /// Fails early if a process that was running when the wait began exits.
    pub fn wait_ready(&mut self, deadline: Duration) -> Result<()> {
        let running: Vec<BrokerId> = self
            .brokers
            .iter_mut()
            .filter_map(|(id, p)| p.is_running().then_some(*id))
            .collect();
        self.wait_unfenced(&running, deadline)
    }

    /// Waits until the quorum has a leader and each of `brokers` is unfenced.
    /// Fails early if a process that was running when the wait began exits.
    pub fn wait_unfenced(&mut self, brokers: &[BrokerId], deadline: Duration) -> Result<()> {
        let watched: Vec<String> = self
            .processes_mut()
            .filter_map(|p| p.is_running().then(|| p.name().to_owned()))
            .collect();
        let want: BTreeSet<BrokerId> = brokers.iter().copied().collect();
        let what = format!("a quorum leader and unfenced brokers {want:?}");
        let start = Instant::now();
        let mut next_progress = start + PROGRESS_EVERY;
        loop {
            self.check_still_running(&watched)?;
            let status = match self.describe_cluster() {
                Ok(cluster) => {
                    let leader = cluster.leader_id.map(|n| n.id);
                    let missing: Vec<_> = want.difference(&unfenced(&cluster)).copied().collect();
                    if leader.is_some() && missing.is_empty() {
                        return Ok(());
                    }
                    format!("leader {leader:?}, brokers not yet unfenced {missing:?}")
                }
                Err(e) => format!("no answer: {e}"),
            };
            let now = Instant::now();
            if now >= start + deadline {
                return Err(Error::Timeout {
                    what: format!("{what} (last seen: {status})"),
                    after: deadline,
                });
            }
            if now >= next_progress {
                eprintln!(
                    "[testkit] {:.1?}: waiting for {what}: {status}",
                    now - start
                );
                next_progress = now + PROGRESS_EVERY;
            }
            std::thread::sleep(PROBE_INTERVAL);
        }
    }

    /// Fails if one of the processes named in `watched` has exited.
    fn check_still_running(&mut self, watched: &[String]) -> Result<()> {
        for process in self.processes_mut() {
            if watched.iter().any(|n| n == process.name()) && !process.is_running() {
                return Err(Error::EarlyExit {
                    name: process.name().to_owned(),
                    status: process.last_exit().expect("reaped"),
                });
            }
        }
        Ok(())
    }
}

/// One DescribeCluster call, on whichever runtime runs it.
async fn describe(addrs: Vec<String>, deadline: Duration) -> Result<DescribeClusterResponse> {
    let mut client = ControllerClient::new(&addrs, deadline)?;
    Ok(client
        .call(|mut c| async move { c.describe_cluster(DescribeClusterRequest {}).await })
        .await?)
}

/// The brokers `cluster` lists as unfenced.
fn unfenced(cluster: &DescribeClusterResponse) -> BTreeSet<BrokerId> {
    cluster
        .brokers
        .iter()
        .filter(|b| !b.fenced)
        .filter_map(|b| b.broker_id.map(|id| BrokerId::new(id.id)))
        .collect()
}
