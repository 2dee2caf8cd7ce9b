//! Compiles every `.proto` file in the repository's `proto/` folder with protox, a pure
//! Rust protobuf compiler, so that no machine needs `protoc`. The generated code goes to
//! OUT_DIR (never committed), together with the encoded descriptor set, which the gRPC
//! reflection service will serve.
//!
//! Without the `grpc` feature only the messages are generated (plain prost, no tonic), so
//! that crates which must stay free of tonic and tokio can still use them.

use std::path::{Path, PathBuf};
use std::{env, fs};

use prost::Message as _;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());

    // Sorted so that generated output does not depend on directory order.
    let mut files: Vec<PathBuf> = fs::read_dir(&proto_dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| p.extension().is_some_and(|ext| ext == "proto"));
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let descriptors = protox::compile(&files, [&proto_dir])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("rill_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    let grpc = env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure()
        // Record bytes on the data path are shared, not copied (prost's `Bytes`).
        .bytes(".rill.data")
        .bytes(".rill.replication")
        .build_client(grpc)
        .build_server(grpc)
        .compile_fds(descriptors)?;
    Ok(())
}
