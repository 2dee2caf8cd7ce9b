//! [`GroupAdmin`]: consumer-group administration over the brokers' gRPC group admin
//! service (`proto/group.proto`).
//!
//! Routing, as Kafka's admin client: a group's calls go to its coordinator, found with
//! FindCoordinator on any broker; an answer of NOT_COORDINATOR,
//! COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE (leadership of the
//! group's `__consumer_offsets` partition is moving, or the coordinator is loading it)
//! finds the coordinator again and retries, with backoff, until the deadline. Listing
//! asks every broker in the metadata for the groups it coordinates.
//!
//! Every call ends by `timeout`; a refusal is a [`DataError::Broker`] with Kafka's code.

use std::time::Duration;

use rill_proto::common;
use rill_proto::group::group_admin_service_client::GroupAdminServiceClient;
use rill_proto::group::*;
use rill_types::ErrorCode;
use tokio::time::Instant;
use tonic::transport::Channel;

use crate::DataError;
use crate::call::{Target, call, kafka_error};
use crate::cluster::{Cluster, Settings};

pub use rill_proto::group::{
    CommittedOffset, DescribeGroupResponse, GroupMember, ListedGroup, TopicPartitions,
};

/// Codes after which the coordinator is looked up again.
const REROUTE: [ErrorCode; 3] = [
    ErrorCode::NotCoordinator,
    ErrorCode::CoordinatorLoadInProgress,
    ErrorCode::CoordinatorNotAvailable,
];

/// A client of the brokers' group admin service.
#[derive(Debug)]
pub struct GroupAdmin {
    cluster: Cluster,
    timeout: Duration,
}

/// An answer that carries an in-band refusal.
trait Refusal {
    fn refusal(&self) -> Option<&common::Error>;
}

macro_rules! refusal {
    ($($t:ty),*) => {$(
        impl Refusal for $t {
            fn refusal(&self) -> Option<&common::Error> {
                self.error.as_ref()
            }
        }
    )*};
}
refusal!(
    DescribeGroupResponse,
    AlterOffsetsResponse,
    DeleteGroupResponse
);

fn client(channel: Channel) -> GroupAdminServiceClient<Channel> {
    GroupAdminServiceClient::new(channel)
}

impl GroupAdmin {
    /// A client starting from `bootstrap` (any brokers' gRPC addresses); each call may
    /// take up to `timeout`. Contacts nothing yet.
    pub fn connect(bootstrap: &[String], timeout: Duration) -> Result<GroupAdmin, DataError> {
        let settings = Settings {
            request_timeout: timeout.min(Duration::from_secs(5)),
            metadata_max_age: Duration::from_secs(5),
        };
        Ok(GroupAdmin {
            cluster: Cluster::new(bootstrap, settings)?,
            timeout,
        })
    }

    /// Every group of the cluster, sorted by id: each broker's ListGroups, merged. Fails
    /// (naming it) when a live broker does not answer, since the list would be partial.
    pub async fn list(&self) -> Result<Vec<ListedGroup>, DataError> {
        let deadline = Instant::now() + self.timeout;
        let view = self.cluster.metadata(&[], deadline).await?;
        let mut all: Vec<ListedGroup> = Vec::new();
        for b in view.brokers.values().filter(|b| !b.fenced) {
            let mut c = client(self.cluster.channel(&b.addr)?);
            let target = Target {
                rpc: "ListGroups",
                broker: &b.addr,
                writes: false,
            };
            let wait = deadline.saturating_duration_since(Instant::now());
            let answer = call(target, wait, c.list_groups(ListGroupsRequest {})).await?;
            if let Some(e) = answer.error {
                return Err(kafka_error(e, false));
            }
            for g in answer.groups {
                // During a leadership move two brokers may both hold a group: once.
                if !all.iter().any(|x| x.group_id == g.group_id) {
                    all.push(g);
                }
            }
        }
        all.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(all)
    }

    /// `group`'s state, members and committed offsets (GROUP_ID_NOT_FOUND when its
    /// coordinator does not know it).
    pub async fn describe(&self, group: &str) -> Result<DescribeGroupResponse, DataError> {
        let req = DescribeGroupRequest {
            group_id: group.to_owned(),
        };
        self.on_coordinator(group, "DescribeGroup", |mut c| {
            let req = req.clone();
            async move { c.describe_group(req).await }
        })
        .await
    }

    /// Commits `offsets` for `group`, which must have no members (NON_EMPTY_GROUP
    /// otherwise); all or nothing.
    pub async fn alter_offsets(
        &self,
        group: &str,
        offsets: Vec<CommittedOffset>,
    ) -> Result<(), DataError> {
        let req = AlterOffsetsRequest {
            group_id: group.to_owned(),
            offsets,
        };
        self.on_coordinator(group, "AlterOffsets", |mut c| {
            let req = req.clone();
            async move { c.alter_offsets(req).await }
        })
        .await
        .map(|_| ())
    }

    /// Deletes `group` and its offsets; NON_EMPTY_GROUP while it has members.
    pub async fn delete(&self, group: &str) -> Result<(), DataError> {
        let req = DeleteGroupRequest {
            group_id: group.to_owned(),
        };
        self.on_coordinator(group, "DeleteGroup", |mut c| {
            let req = req.clone();
            async move { c.delete_group(req).await }
        })
        .await
        .map(|_| ())
    }

    /// The gRPC address of `group`'s coordinator, asked of any broker.
    async fn find(&self, group: &str, deadline: Instant) -> Result<String, DataError> {
        let view = self.cluster.metadata(&[], deadline).await?;
        let mut last = None;
        for b in view.brokers.values().filter(|b| !b.fenced) {
            let mut c = client(self.cluster.channel(&b.addr)?);
            let target = Target {
                rpc: "FindCoordinator",
                broker: &b.addr,
                writes: false,
            };
            let wait = deadline.saturating_duration_since(Instant::now());
            let req = FindCoordinatorRequest {
                group_id: group.to_owned(),
            };
            match call(target, wait, c.find_coordinator(req)).await {
                Ok(FindCoordinatorResponse { error: Some(e), .. }) => {
                    return Err(kafka_error(e, false));
                }
                Ok(FindCoordinatorResponse {
                    endpoint: Some(e), ..
                }) => return Ok(format!("{}:{}", e.host, e.port)),
                Ok(_) => {
                    last = Some(DataError::protocol(
                        "FindCoordinator answered neither an error nor an endpoint",
                        false,
                    ))
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            DataError::kafka(ErrorCode::CoordinatorNotAvailable, "no live broker")
        }))
    }

    /// Runs `rpc` on `group`'s coordinator, finding it again after a refusal that
    /// says it moved, until the deadline.
    async fn on_coordinator<T, F, Fut>(
        &self,
        group: &str,
        rpc: &'static str,
        mut f: F,
    ) -> Result<T, DataError>
    where
        T: Refusal,
        F: FnMut(GroupAdminServiceClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut backoff = Duration::from_millis(50);
        loop {
            let err = match self.find(group, deadline).await {
                Err(e) => e,
                Ok(addr) => {
                    let target = Target {
                        rpc,
                        broker: &addr,
                        writes: false,
                    };
                    let wait = deadline.saturating_duration_since(Instant::now());
                    match call(target, wait, f(client(self.cluster.channel(&addr)?))).await {
                        Ok(answer) => match answer.refusal() {
                            None => return Ok(answer),
                            Some(e) => kafka_error(e.clone(), false),
                        },
                        Err(e) => e,
                    }
                }
            };
            let again = err.kafka_code().is_some_and(|c| REROUTE.contains(&c))
                || matches!(err, DataError::Unreachable { .. });
            if !again || Instant::now() + backoff >= deadline {
                return Err(err);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
    }
}
