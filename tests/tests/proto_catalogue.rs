//! The `.proto` catalogue in `proto/` is the contract between processes: every message,
//! field, enum value, service and method in it carries a comment, and the gRPC services
//! build. Checked on the descriptor set that rill-proto's build script compiled.

use prost::Message as _;
use prost_types::FileDescriptorSet;

fn descriptors() -> FileDescriptorSet {
    FileDescriptorSet::decode(rill_proto::FILE_DESCRIPTOR_SET).expect("descriptor set decodes")
}

/// Every declaration (by its source-info path) that has no leading or trailing comment.
fn undocumented() -> Vec<String> {
    let mut missing = Vec::new();
    for file in descriptors().file {
        let name = file.name().to_owned();
        let info = file
            .source_code_info
            .clone()
            .unwrap_or_else(|| panic!("{name}: no source info in the descriptor set"));
        let documented = |path: &[i32]| {
            info.location.iter().any(|loc| {
                loc.path == path
                    && (loc
                        .leading_comments
                        .as_deref()
                        .is_some_and(|c| !c.trim().is_empty())
                        || loc
                            .trailing_comments
                            .as_deref()
                            .is_some_and(|c| !c.trim().is_empty()))
            })
        };
        // Paths per descriptor.proto: 4 = message_type, 2 = field, 3 = nested_type,
        // 4 (in a message) = enum_type, 5 = enum_type (file), 2 = value, 6 = service,
        // 2 = method.
        for (m, message) in file.message_type.iter().enumerate() {
            let path = vec![4, m as i32];
            if !documented(&path) {
                missing.push(format!("{name}: message {}", message.name()));
            }
            for (f, field) in message.field.iter().enumerate() {
                let mut p = path.clone();
                p.extend([2, f as i32]);
                if !documented(&p) {
                    missing.push(format!("{name}: field {}.{}", message.name(), field.name()));
                }
            }
        }
        for (e, en) in file.enum_type.iter().enumerate() {
            if !documented(&[5, e as i32]) {
                missing.push(format!("{name}: enum {}", en.name()));
            }
            for (v, value) in en.value.iter().enumerate() {
                if !documented(&[5, e as i32, 2, v as i32]) {
                    missing.push(format!("{name}: enum value {}.{}", en.name(), value.name()));
                }
            }
        }
        for (s, service) in file.service.iter().enumerate() {
            if !documented(&[6, s as i32]) {
                missing.push(format!("{name}: service {}", service.name()));
            }
            for (m, method) in service.method.iter().enumerate() {
                if !documented(&[6, s as i32, 2, m as i32]) {
                    missing.push(format!("{name}: rpc {}.{}", service.name(), method.name()));
                }
            }
        }
    }
    missing
}

#[test]
fn every_declaration_is_documented() {
    let files = descriptors().file;
    assert!(
        files.len() >= 3,
        "expected the proto/ catalogue, got {} files",
        files.len()
    );
    let missing = undocumented();
    assert!(
        missing.is_empty(),
        "undocumented in proto/:\n{}",
        missing.join("\n")
    );
}

#[test]
fn grpc_services_are_generated_with_the_feature() {
    // Naming the generated server and client types is the check: this file does not
    // compile if the `grpc` feature stops generating them.
    let _ = std::any::type_name::<
        rill_proto::raft::raft_service_server::RaftServiceServer<NoService>,
    >();
    let _ = std::any::type_name::<
        rill_proto::controller::controller_service_client::ControllerServiceClient<NoService>,
    >();
}

struct NoService;
