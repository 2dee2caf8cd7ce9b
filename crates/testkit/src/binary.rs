//! Locating the `rill` executable from any test package of the workspace.
//!
//! `CARGO_BIN_EXE_rill` exists only in rill-cli's own tests, so the kit builds the binary
//! itself, once per test process: `cargo build -p rill-cli --bin rill` (with `--release`
//! when the running test binary is a release build), then uses
//! `<target dir>/<debug|release>/rill`. Cargo's own lock makes concurrent test processes
//! wait for one another rather than race. `RILL_BIN` overrides all of this.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The built binary, or why it could not be had; computed once per process.
static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Lines of cargo's output kept in an error: enough to show a compile error.
const BUILD_OUTPUT_LINES: usize = 60;

/// The path of the `rill` binary, building it on first use (see the module doc).
pub fn rill_binary() -> Result<PathBuf> {
    BINARY.get_or_init(locate).clone().map_err(Error::Binary)
}

fn locate() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("RILL_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("RILL_BIN={} is not a file", path.display()))
        };
    }
    let root = workspace_root()?;
    let release = std::env::current_exe()
        .map(|exe| exe.to_string_lossy().contains("/release/"))
        .unwrap_or(false);
    build(&root, release)?;
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        // A relative target dir is relative to where cargo runs: the workspace root here.
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    let path = target
        .join(if release { "release" } else { "debug" })
        .join("rill");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "cargo built rill but {} is missing",
            path.display()
        ))
    }
}

/// The nearest ancestor of the test's manifest dir holding `Cargo.lock`.
fn workspace_root() -> Result<PathBuf, String> {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_owned)
        .ok_or_else(|| format!("no Cargo.lock above {}", start.display()))
}

fn build(root: &Path, release: bool) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(&cargo);
    command
        .current_dir(root)
        .args(["build", "-p", "rill-cli", "--bin", "rill"]);
    if release {
        command.arg("--release");
    }
    eprintln!("[testkit] building rill: {command:?}");
    let output = command
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(BUILD_OUTPUT_LINES)..].join("\n");
    Err(format!("{command:?} failed ({}):\n{tail}", output.status))
}
