//! Applies the dependency rules of `rill_tests::architecture` to the real workspace:
//! the direct edges between our crates come from `cargo metadata`, and each pure crate's
//! whole tree from `cargo tree -p <crate>`, which resolves features for that crate
//! alone (as `cargo build -p` would), unlike the workspace-wide `cargo metadata` graph.

use std::collections::BTreeSet;
use std::process::Command;

use cargo_metadata::{DependencyKind, MetadataCommand};
use rill_tests::architecture::{FORBIDDEN_TRANSITIVE, Graph, Kind, check, check_tree};

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

#[test]
fn crates_depend_only_downwards() {
    let metadata = MetadataCommand::new()
        .cargo_path(cargo())
        .no_deps()
        .exec()
        .expect("cargo metadata");
    let members: BTreeSet<String> = metadata
        .workspace_packages()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    // Guard against a vacuous pass: the foundation crates must be there.
    for expected in ["rill-types", "rill-proto", "rill-cli", "rill-tests"] {
        assert!(
            members.contains(expected),
            "workspace lacks {expected}: {members:?}"
        );
    }

    let mut graph = Graph::default();
    for package in metadata.workspace_packages() {
        graph.add_crate(&package.name);
        for dep in &package.dependencies {
            if !members.contains(&dep.name) {
                continue;
            }
            let kind = match dep.kind {
                DependencyKind::Development => Kind::Dev,
                _ => Kind::Normal,
            };
            graph.add_edge(&package.name, &dep.name, kind);
        }
    }
    let violations = check(&graph);
    assert!(
        violations.is_empty(),
        "dependency rules broken:\n{}",
        violations.join("\n")
    );
}

#[test]
fn pure_crates_stay_free_of_the_runtime_and_transport() {
    let mut checked = 0;
    for (krate, _) in FORBIDDEN_TRANSITIVE {
        let output = Command::new(cargo())
            .args([
                "tree", "--quiet", "-p", krate, "-e", "normal", "--prefix", "none", "--format",
                "{p}",
            ])
            .output()
            .expect("run cargo tree");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() && stderr.contains("did not match any packages") {
            continue; // not created yet: its issue has not landed
        }
        assert!(
            output.status.success(),
            "cargo tree -p {krate} failed: {stderr}"
        );
        let tree: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        assert!(
            tree.contains(*krate),
            "cargo tree output for {krate} does not name it: {tree:?}"
        );
        let violations = check_tree(krate, &tree);
        assert!(violations.is_empty(), "{}", violations.join("\n"));
        checked += 1;
    }
    assert!(
        checked >= 2,
        "checked only {checked} crates: rill-types and rill-proto must exist"
    );
}
