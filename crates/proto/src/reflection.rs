//! gRPC server reflection (the `grpc.reflection.v1` and `v1alpha` services), so generic
//! tools (grpcurl, Postman, Python's grpcio-reflection) can list a server's services and
//! fetch their schemas without our .proto files.
//!
//! Which process serves which services is stated once here: the controller's and the
//! broker's gRPC servers advertise exactly their list, and every service on a list must
//! be in the compiled descriptor set (a test checks it).

use tonic_reflection::server::{Builder, v1, v1alpha};

use crate::FILE_DESCRIPTOR_SET;

/// The services a controller serves on its `listen` address.
pub const CONTROLLER_SERVICES: &[&str] =
    &["rill.controller.ControllerService", "rill.raft.RaftService"];

/// The services a broker serves on its gRPC `listen` address. The group admin service
/// is implemented by the Kafka layer and added by the `rill` binary through
/// `BrokerNode::start_with`, as every broker the binary starts does.
pub const BROKER_SERVICES: &[&str] = &[
    "rill.data.DataService",
    "rill.group.GroupAdminService",
    "rill.replication.ReplicationService",
];

/// The reflection services themselves, advertised beside the others (clients look for
/// them in the list).
pub const REFLECTION_SERVICES: &[&str] = &[
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

fn builder(services: &[&str]) -> Builder<'static> {
    services.iter().chain(REFLECTION_SERVICES).fold(
        Builder::configure().register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET),
        |b, s| b.with_service_name(*s),
    )
}

/// The v1 reflection service advertising `services`.
///
/// # Panics
/// If the compiled descriptor set does not decode (a build bug; tested).
pub fn v1(services: &[&str]) -> v1::ServerReflectionServer<impl v1::ServerReflection> {
    builder(services)
        .build_v1()
        .expect("the compiled descriptor set decodes")
}

/// The v1alpha reflection service (older clients, grpcurl before 1.9) advertising
/// `services`.
///
/// # Panics
/// If the compiled descriptor set does not decode (a build bug; tested).
pub fn v1alpha(
    services: &[&str],
) -> v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection> {
    builder(services)
        .build_v1alpha()
        .expect("the compiled descriptor set decodes")
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn every_listed_service_is_in_the_descriptor_set() {
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        let compiled: Vec<String> = set
            .file
            .iter()
            .flat_map(|f| {
                f.service
                    .iter()
                    .map(move |s| format!("{}.{}", f.package(), s.name()))
            })
            .collect();
        for s in CONTROLLER_SERVICES.iter().chain(BROKER_SERVICES) {
            assert!(compiled.iter().any(|c| c == s), "{s} not in {compiled:?}");
        }
        let _ = v1(CONTROLLER_SERVICES);
        let _ = v1alpha(BROKER_SERVICES);
    }

    #[test]
    fn the_descriptor_set_carries_the_proto_comments() {
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        assert!(
            set.file.iter().all(|f| f.source_code_info.is_some()),
            "reflection clients show comments only if source info is kept"
        );
    }
}
