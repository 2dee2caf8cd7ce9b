//! [`ConfigResource`]: what a config key belongs to.

/// A topic or a broker (or the cluster-wide broker default).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigResource {
    /// A topic, by name.
    Topic(String),
    /// A broker, by id as text; the empty string is the cluster-wide default.
    Broker(String),
}
