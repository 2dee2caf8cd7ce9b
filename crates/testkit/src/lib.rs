//! rill-testkit: multi-process cluster tests.
//!
//! Layout:
//! - [`Cluster`] (`cluster/`): controllers and brokers as real `rill` processes, started
//!   from a [`ClusterSpec`]; [`Process`] is one of them, with its knobs (SIGKILL, SIGSTOP,
//!   SIGCONT, SIGTERM, restart); link faults through [`FaultProxy`]; power cuts with
//!   [`Cluster::cut_to_flushed`].
//! - [`FaultProxy`] (`proxy/`): a TCP proxy with [`ProxyMode`]s (pass, drop, delay,
//!   blackhole), usable on its own.
//! - [`History`] (`history/`): what producers sent and were told, checked against what
//!   the partitions hold, into a [`Report`] of anomalies.
//! - [`compare_replicas`] (`replicas.rs`) and [`segments`]: reading partition directories
//!   as raw RecordBatch files.
//! - [`wait_until`] and friends (`wait.rs`): the only way to wait.
//! - [`http_get`] (`http.rs`): reading the servers' /metrics, /healthz and /readyz.
//! - [`rill_binary`] (`binary.rs`): finds (building if needed) the `rill` executable.
//!
//! Environment: `RILL_BIN` (use this binary), `RILL_KEEP_DATA` (keep a failed test's
//! directory; `always` keeps every one), `RILL_LOG` (the children's log filter).

mod binary;
mod cluster;
mod error;
mod history;
mod http;
mod logs;
mod process;
mod proxy;
mod replicas;
pub mod segments;
mod spec;
mod wait;

pub use binary::rill_binary;
pub use cluster::Cluster;
pub use error::{Error, Result};
pub use history::{
    Duplicate, History, Inconsistency, Lost, Outcome, Reads, Reordering, Report, Unexpected,
};
pub use http::http_get;
pub use process::Process;
pub use proxy::{FaultProxy, MAX_CONNECTIONS, ProxyMode};
pub use replicas::compare_replicas;
pub use rill_types::{BrokerId, NodeId};
pub use spec::ClusterSpec;
pub use wait::{POLL_INTERVAL, wait_for, wait_for_async, wait_until, wait_until_async};
