//! [`Error`]: why a test-kit operation failed.
//!
//! Harness failures are errors, not panics, so that a test can tell "the cluster did
//! not come up" from "the feature under test misbehaved"; most tests just `unwrap()`.

use std::path::PathBuf;
use std::time::Duration;

/// Why a test-kit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or process operation failed.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What was being done, e.g. "truncate segment".
        what: &'static str,
        /// The file, directory or program involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Building or locating the `rill` binary failed.
    #[error("cannot get the rill binary: {0}")]
    Binary(String),
    /// Something did not happen within its deadline.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long it was awaited.
        after: Duration,
    },
    /// A process the operation needs stopped is running, or the other way round.
    #[error("{name}: {reason}")]
    ProcessState {
        /// The process, e.g. "broker 2".
        name: String,
        /// What is wrong with its state.
        reason: String,
    },
    /// A process exited while the cluster was starting.
    #[error("{name} exited during start-up ({status}); see its log above")]
    EarlyExit {
        /// The process, e.g. "controller 1".
        name: String,
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// A log or checkpoint file on disk is not in the expected format.
    #[error("{}: {reason}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The cluster answered but refused a request.
    #[error("{what} refused: {reason}")]
    Refused {
        /// The request, e.g. "create topic t".
        what: String,
        /// The error the cluster gave.
        reason: String,
    },
    /// A call to the controller quorum failed.
    #[error("controller call failed: {0}")]
    Controller(#[from] rill_proto::controller_client::ClientError),
}

/// The test kit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches "what" and "which path" to an I/O error.
pub(crate) trait IoContext<T> {
    /// Wraps the error in [`Error::Io`].
    fn io(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn io(self, what: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            what,
            path: path.into(),
            source,
        })
    }
}
