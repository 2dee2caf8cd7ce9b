//! The gRPC group admin service (`proto/group.proto`): consumer groups listed,
//! described, their offsets reset and the groups deleted, for `rill group`.
//!
//! It runs on every broker's gRPC listener (the broker takes it as an extra service at
//! start: `rill_broker::BrokerNode::start_with`) against the broker's one
//! [`GroupCoordinator`] ([`GroupCoordinator::shared`]), the same one the Kafka
//! listeners use, so it sees the live members Kafka clients hold.
//!
//! Routing is the client's, as Kafka's admin client does it: FindCoordinator on any
//! broker names the coordinator from the metadata image; the other calls answer
//! NOT_COORDINATOR (or COORDINATOR_LOAD_IN_PROGRESS) when this broker is not it (yet),
//! and the client asks again. ListGroups answers only this broker's groups.
//!
//! This file is the thin tonic adapter; [`describe`] builds the answers from a group.

pub mod describe;

use std::sync::Arc;

use rill_broker::replica_manager::{GRPC_LISTENER, ReplicaManager};
use rill_proto::common;
use rill_proto::group::group_admin_service_server::{GroupAdminService, GroupAdminServiceServer};
use rill_proto::group::*;
use rill_types::{ErrorCode, PartitionIndex};
use tonic::{Request, Response, Status};

use crate::group::records::OffsetValue;
use crate::group::state::GroupState;
use crate::group::{CONSUMER_OFFSETS, GroupCoordinator, MAX_GROUP_ID_LEN, partition_for};

/// The longest ListGroups waits for this broker's `__consumer_offsets` partitions to
/// load.
pub const LIST_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Most offsets one AlterOffsets may carry (bounds one `__consumer_offsets` batch).
pub const MAX_OFFSETS: usize = 10_000;

/// The service of one broker.
#[derive(Debug, Clone)]
pub struct GroupAdminGrpc {
    rm: Arc<ReplicaManager>,
    groups: Arc<GroupCoordinator>,
}

/// A refusal on the wire.
pub fn error(code: ErrorCode, message: impl Into<String>) -> common::Error {
    common::Error {
        code: code.code(),
        name: code.name().to_owned(),
        message: message.into(),
    }
}

fn check_id(group: &str) -> Result<(), common::Error> {
    if group.is_empty() || group.len() > MAX_GROUP_ID_LEN {
        return Err(error(
            ErrorCode::InvalidGroupId,
            format!("a group id is 1 to {MAX_GROUP_ID_LEN} bytes"),
        ));
    }
    Ok(())
}

/// The wire error of a coordinator refusal, with a message that says what to do.
fn refusal(code: ErrorCode, group: &str) -> common::Error {
    let message = match code {
        ErrorCode::NotCoordinator => format!("this broker does not coordinate group {group}"),
        ErrorCode::CoordinatorLoadInProgress => {
            format!("the coordinator of group {group} is still loading it")
        }
        ErrorCode::NonEmptyGroup => format!(
            "group {group} has live members: stop its consumers (or wait for their sessions to expire) first"
        ),
        ErrorCode::GroupIdNotFound => format!("group {group} does not exist"),
        _ => format!("group {group}: {}", code.name()),
    };
    error(code, message)
}

impl GroupAdminGrpc {
    /// The service over this broker's replicas and its shared coordinator.
    pub fn new(rm: Arc<ReplicaManager>) -> Self {
        let groups = GroupCoordinator::shared(&rm);
        Self { rm, groups }
    }

    /// The tonic server of the service.
    pub fn into_server(self) -> GroupAdminServiceServer<Self> {
        GroupAdminServiceServer::new(self)
    }

    fn find(&self, group: &str) -> FindCoordinatorResponse {
        let refused = |e| FindCoordinatorResponse {
            error: Some(e),
            ..Default::default()
        };
        if let Err(e) = check_id(group) {
            return refused(e);
        }
        let image = self.rm.metadata.borrow().image.clone();
        let Some(topic) = image.topic_by_name(CONSUMER_OFFSETS) else {
            return refused(error(
                ErrorCode::GroupIdNotFound,
                format!(
                    "group {group} does not exist: no group has been used yet ({CONSUMER_OFFSETS} does not exist)"
                ),
            ));
        };
        let p = partition_for(group, topic.partitions.len().max(1) as i32);
        let unavailable = || {
            refused(error(
                ErrorCode::CoordinatorNotAvailable,
                format!("{CONSUMER_OFFSETS} partition {p} (group {group}) has no live leader"),
            ))
        };
        let Some(leader) = topic
            .partitions
            .get(&PartitionIndex::new(p))
            .and_then(|x| x.leader)
        else {
            return unavailable();
        };
        let Some(endpoint) = image
            .broker(leader)
            .filter(|b| !b.fenced)
            .and_then(|b| b.listeners.iter().find(|l| l.name == GRPC_LISTENER))
        else {
            return unavailable();
        };
        FindCoordinatorResponse {
            error: None,
            coordinator: Some(leader.into()),
            endpoint: Some(common::Endpoint {
                name: endpoint.name.clone(),
                host: endpoint.host.clone(),
                port: endpoint.port,
            }),
        }
    }

    async fn alter(&self, req: AlterOffsetsRequest) -> Result<(), common::Error> {
        let group = req.group_id.as_str();
        check_id(group)?;
        if req.offsets.len() > MAX_OFFSETS {
            return Err(error(
                ErrorCode::InvalidRequest,
                format!("at most {MAX_OFFSETS} offsets per call"),
            ));
        }
        let image = self.rm.metadata.borrow().image.clone();
        let now = self.groups.now();
        let mut items = Vec::with_capacity(req.offsets.len());
        for o in req.offsets {
            let p = o.partition.map_or(-1, |p| p.index);
            let known = image
                .topic_by_name(&o.topic)
                .is_some_and(|t| t.partitions.contains_key(&PartitionIndex::new(p)));
            let offset = o.offset.map_or(-1, |x| x.offset);
            if !known {
                return Err(error(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("{}:{p} does not exist", o.topic),
                ));
            }
            if offset < 0 {
                return Err(error(
                    ErrorCode::InvalidRequest,
                    format!("{}:{p}: an offset is not negative", o.topic),
                ));
            }
            items.push((
                (o.topic, p),
                OffsetValue {
                    offset,
                    leader_epoch: -1,
                    metadata: o.metadata,
                    commit_timestamp: now,
                },
            ));
        }
        // Checked under the group's lock, with the commit: no member can join between.
        self.groups
            .commit(group, items, |g, _| {
                if g.state == GroupState::Empty {
                    Ok(())
                } else {
                    Err(ErrorCode::NonEmptyGroup)
                }
            })
            .await
            .map_err(|e| refusal(e, group))
    }
}

#[tonic::async_trait]
impl GroupAdminService for GroupAdminGrpc {
    async fn find_coordinator(
        &self,
        request: Request<FindCoordinatorRequest>,
    ) -> Result<Response<FindCoordinatorResponse>, Status> {
        self.groups.start();
        Ok(Response::new(self.find(&request.into_inner().group_id)))
    }

    async fn list_groups(
        &self,
        _request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        self.groups.start();
        // A broker that just started (or just became a leader) is loading groups: wait
        // for it, briefly, rather than answer a partial list.
        let deadline = tokio::time::Instant::now() + LIST_WAIT;
        while !self.groups.settled() {
            if tokio::time::Instant::now() >= deadline {
                return Ok(Response::new(ListGroupsResponse {
                    broker: Some(self.rm.config.broker_id.into()),
                    groups: Vec::new(),
                    error: Some(error(
                        ErrorCode::CoordinatorLoadInProgress,
                        format!("still loading {CONSUMER_OFFSETS} after {LIST_WAIT:?}"),
                    )),
                }));
            }
            tokio::time::sleep(crate::group::coordinator::TICK).await;
        }
        Ok(Response::new(describe::list(
            self.rm.config.broker_id,
            self.groups.snapshot(),
        )))
    }

    async fn describe_group(
        &self,
        request: Request<DescribeGroupRequest>,
    ) -> Result<Response<DescribeGroupResponse>, Status> {
        self.groups.start();
        let group = request.into_inner().group_id;
        let described = check_id(&group).and_then(|()| {
            self.groups
                .with_group(&group, false, |g, _| describe::describe(g))
                .map_err(|e| refusal(e, &group))?
                .ok_or_else(|| refusal(ErrorCode::GroupIdNotFound, &group))
        });
        Ok(Response::new(described.unwrap_or_else(|e| {
            DescribeGroupResponse {
                error: Some(e),
                group_id: group,
                ..Default::default()
            }
        })))
    }

    async fn alter_offsets(
        &self,
        request: Request<AlterOffsetsRequest>,
    ) -> Result<Response<AlterOffsetsResponse>, Status> {
        self.groups.start();
        let error = self.alter(request.into_inner()).await.err();
        Ok(Response::new(AlterOffsetsResponse { error }))
    }

    async fn delete_group(
        &self,
        request: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        self.groups.start();
        let group = request.into_inner().group_id;
        let error = match check_id(&group) {
            Err(e) => Some(e),
            Ok(()) => self
                .groups
                .delete_group(&group)
                .await
                .err()
                .map(|e| refusal(e, &group)),
        };
        Ok(Response::new(DeleteGroupResponse { error }))
    }
}
