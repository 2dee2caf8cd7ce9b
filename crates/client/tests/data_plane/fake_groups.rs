//! The group admin service of the fake brokers (`proto/group.proto`): every group lives
//! on `State::coordinator`; FindCoordinator names `State::advertised_coordinator`, and a
//! broker that is not the coordinator answers NOT_COORDINATOR and "propagates" the real
//! one, so only a client that looks the coordinator up again finds it. ListGroups
//! answers one group per broker, `g<id>`, plus the shared group `shared` on broker 1
//! and 2 (a group seen twice during a leadership move).

use std::sync::{Arc, Mutex, MutexGuard};

use rill_proto::common;
use rill_proto::group::group_admin_service_server::{GroupAdminService, GroupAdminServiceServer};
use rill_proto::group::*;
use rill_types::ErrorCode;
use tonic::{Request, Response, Status};

use crate::fake_broker::{State, error};

/// One fake broker's group service.
pub struct FakeGroups {
    /// The broker id.
    pub id: i32,
    /// The cluster's shared state.
    pub state: Arc<Mutex<State>>,
}

impl FakeGroups {
    /// The tonic server.
    pub fn into_server(self) -> GroupAdminServiceServer<Self> {
        GroupAdminServiceServer::new(self)
    }

    fn state(&self, rpc: &'static str) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().expect("state lock");
        state.calls.push((self.id, rpc));
        state
    }

    /// NOT_COORDINATOR (propagating the real coordinator) unless this broker is it.
    fn moved(&self, state: &mut State) -> Option<common::Error> {
        if self.id == state.coordinator {
            return None;
        }
        state.advertised_coordinator = state.coordinator;
        error(ErrorCode::NotCoordinator)
    }
}

#[tonic::async_trait]
impl GroupAdminService for FakeGroups {
    async fn find_coordinator(
        &self,
        _request: Request<FindCoordinatorRequest>,
    ) -> Result<Response<FindCoordinatorResponse>, Status> {
        let state = self.state("FindCoordinator");
        let id = state.advertised_coordinator;
        let (_, addr) = state
            .brokers
            .iter()
            .find(|(b, _)| *b == id)
            .expect("the coordinator is a broker");
        Ok(Response::new(FindCoordinatorResponse {
            error: None,
            coordinator: Some(common::BrokerId { id }),
            endpoint: Some(common::Endpoint {
                name: "RILL".into(),
                host: addr.ip().to_string(),
                port: u32::from(addr.port()),
            }),
        }))
    }

    async fn list_groups(
        &self,
        _request: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsResponse>, Status> {
        drop(self.state("ListGroups"));
        let mut groups = vec![ListedGroup {
            group_id: format!("g{}", self.id),
            state: "Empty".into(),
            protocol_type: String::new(),
            members: 0,
        }];
        if self.id <= 2 {
            groups.push(ListedGroup {
                group_id: "shared".into(),
                state: "Stable".into(),
                protocol_type: "consumer".into(),
                members: 1,
            });
        }
        Ok(Response::new(ListGroupsResponse {
            broker: Some(common::BrokerId { id: self.id }),
            groups,
            error: None,
        }))
    }

    async fn describe_group(
        &self,
        request: Request<DescribeGroupRequest>,
    ) -> Result<Response<DescribeGroupResponse>, Status> {
        let mut state = self.state("DescribeGroup");
        let group_id = request.into_inner().group_id;
        let error = match self.moved(&mut state) {
            Some(e) => Some(e),
            None if group_id == "missing" => error(ErrorCode::GroupIdNotFound),
            None => None,
        };
        Ok(Response::new(DescribeGroupResponse {
            error,
            state: "Empty".into(),
            group_id,
            ..Default::default()
        }))
    }

    async fn alter_offsets(
        &self,
        _request: Request<AlterOffsetsRequest>,
    ) -> Result<Response<AlterOffsetsResponse>, Status> {
        let mut state = self.state("AlterOffsets");
        let error = self.moved(&mut state);
        Ok(Response::new(AlterOffsetsResponse { error }))
    }

    async fn delete_group(
        &self,
        _request: Request<DeleteGroupRequest>,
    ) -> Result<Response<DeleteGroupResponse>, Status> {
        let mut state = self.state("DeleteGroup");
        let error = self.moved(&mut state).or(error(ErrorCode::NonEmptyGroup));
        Ok(Response::new(DeleteGroupResponse { error }))
    }
}
