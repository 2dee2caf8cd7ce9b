//! The allowed direction of dependencies between rill's crates, and a checker.
//!
//! The rules are the ones docs/ARCHITECTURE.md states; this file is their executable
//! form. The checker is pure: it takes a [`Graph`] and returns every violation, so a
//! unit test can feed it a graph with a forbidden edge and see it fail.

use std::collections::{BTreeMap, BTreeSet};

/// Every library crate below the test kit and the binary.
const LIBRARIES: &[&str] = &[
    "rill-types",
    "rill-proto",
    "rill-metadata",
    "rill-storage",
    "rill-controller",
    "rill-broker",
    "rill-kafka",
    "rill-client",
];

/// What the black-box test package may use: every library and the test kit.
const EVERYTHING: &[&str] = &[
    "rill-types",
    "rill-proto",
    "rill-metadata",
    "rill-storage",
    "rill-controller",
    "rill-broker",
    "rill-kafka",
    "rill-client",
    "rill-testkit",
];

/// Which rill crates each crate may depend on (normal and build dependencies).
///
/// Dependencies point down: a crate lists only crates below it. A workspace member that
/// is missing from this table is itself a violation, so adding a crate forces a
/// decision about where it sits.
pub const ALLOWED: &[(&str, &[&str])] = &[
    ("rill-types", &[]),
    ("rill-proto", &["rill-types"]),
    ("rill-storage", &["rill-types"]),
    ("rill-metadata", &["rill-types", "rill-proto"]),
    (
        "rill-controller",
        &["rill-types", "rill-proto", "rill-metadata"],
    ),
    (
        "rill-broker",
        &["rill-types", "rill-proto", "rill-metadata", "rill-storage"],
    ),
    (
        "rill-kafka",
        &[
            "rill-types",
            "rill-proto",
            "rill-metadata",
            "rill-storage",
            "rill-broker",
        ],
    ),
    ("rill-client", &["rill-types", "rill-proto"]),
    ("rill-testkit", LIBRARIES),
    ("rill-cli", LIBRARIES),
    ("rill-tests", EVERYTHING),
];

/// Pairs that may not depend on each other in any way, dev-dependencies included:
/// the controller and the broker talk only through `rill-proto` RPCs.
pub const NEVER: &[(&str, &str)] = &[
    ("rill-controller", "rill-broker"),
    ("rill-broker", "rill-controller"),
];

/// External crates that must not appear anywhere in a crate's own dependency tree
/// (normal dependencies, resolved for that crate alone): the pure crates stay free of
/// the async runtime and the RPC transport, so they can be tested synchronously and
/// replayed deterministically.
pub const FORBIDDEN_TRANSITIVE: &[(&str, &[&str])] = &[
    ("rill-types", &["tokio", "tonic", "prost"]),
    ("rill-proto", &["tokio", "tonic"]),
    ("rill-storage", &["tokio", "tonic"]),
    ("rill-metadata", &["tokio", "tonic"]),
];

/// How a crate depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A `[dependencies]` or `[build-dependencies]` entry: part of the shipped crate.
    Normal,
    /// A `[dev-dependencies]` entry: tests and benches only.
    Dev,
}

/// The workspace's own crates and their direct dependencies on each other.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    /// crate → (dependency, kind), for dependencies that are workspace members.
    pub edges: BTreeMap<String, BTreeSet<(String, Kind)>>,
}

impl Graph {
    /// Adds a crate with no dependencies (if absent).
    pub fn add_crate(&mut self, name: &str) {
        self.edges.entry(name.to_owned()).or_default();
    }

    /// Adds an edge `from → to`.
    pub fn add_edge(&mut self, from: &str, to: &str, kind: Kind) {
        self.edges
            .entry(from.to_owned())
            .or_default()
            .insert((to.to_owned(), kind));
    }
}

/// Every way `graph` breaks [`ALLOWED`] and [`NEVER`], one readable line each.
pub fn check(graph: &Graph) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut violations = Vec::new();
    for (krate, deps) in &graph.edges {
        let Some(may_use) = allowed.get(krate.as_str()) else {
            violations.push(format!(
                "{krate} is not in the dependency rules (tests/src/architecture.rs ALLOWED): decide where it sits"
            ));
            continue;
        };
        for (dep, kind) in deps {
            if *kind == Kind::Normal && !may_use.contains(&dep.as_str()) {
                violations.push(format!("{krate} must not depend on {dep}"));
            }
            if NEVER.contains(&(krate.as_str(), dep.as_str())) {
                violations.push(format!(
                    "{krate} must never depend on {dep}, not even as a {kind:?} dependency"
                ));
            }
        }
    }
    violations
}

/// Every crate of `FORBIDDEN_TRANSITIVE` found in `tree`, the full list of package names
/// in `krate`'s own dependency tree.
pub fn check_tree(krate: &str, tree: &BTreeSet<String>) -> Vec<String> {
    FORBIDDEN_TRANSITIVE
        .iter()
        .filter(|(name, _)| *name == krate)
        .flat_map(|(_, forbidden)| forbidden.iter())
        .filter(|f| tree.contains(**f))
        .map(|f| format!("{krate} must stay free of {f}, but its dependency tree contains it"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{Graph, Kind, check, check_tree};

    fn layered() -> Graph {
        let mut g = Graph::default();
        g.add_edge("rill-proto", "rill-types", Kind::Normal);
        g.add_edge("rill-cli", "rill-proto", Kind::Normal);
        g.add_edge("rill-cli", "rill-types", Kind::Normal);
        g
    }

    #[test]
    fn a_layered_graph_passes() {
        assert_eq!(check(&layered()), Vec::<String>::new());
    }

    #[test]
    fn an_upward_edge_is_caught() {
        let mut g = layered();
        g.add_edge("rill-types", "rill-proto", Kind::Normal);
        assert_eq!(check(&g), vec!["rill-types must not depend on rill-proto"]);
    }

    #[test]
    fn a_server_crate_on_the_client_is_caught() {
        let mut g = layered();
        g.add_edge("rill-broker", "rill-client", Kind::Normal);
        assert_eq!(
            check(&g),
            vec!["rill-broker must not depend on rill-client"]
        );
    }

    #[test]
    fn controller_and_broker_never_meet_even_in_tests() {
        let mut g = layered();
        g.add_edge("rill-controller", "rill-broker", Kind::Dev);
        let v = check(&g);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("rill-controller must never depend on rill-broker"));
    }

    #[test]
    fn dev_dependencies_on_testkit_are_allowed() {
        let mut g = layered();
        g.add_edge("rill-storage", "rill-testkit", Kind::Dev);
        assert_eq!(check(&g), Vec::<String>::new());
    }

    #[test]
    fn an_unknown_crate_is_caught() {
        let mut g = layered();
        g.add_crate("rill-mystery");
        assert_eq!(check(&g).len(), 1);
    }

    #[test]
    fn tokio_in_a_pure_crate_is_caught() {
        let tree: BTreeSet<String> = ["rill-types", "serde", "tokio"].map(String::from).into();
        assert_eq!(
            check_tree("rill-types", &tree),
            vec!["rill-types must stay free of tokio, but its dependency tree contains it"]
        );
        assert!(check_tree("rill-cli", &tree).is_empty());
    }
}
