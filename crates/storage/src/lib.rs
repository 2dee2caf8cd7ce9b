//! rill-storage: the partition log on disk.
//!
//! A [`Log`] is an ordered set of [`segment`]s (`<base offset>.log` with a sparse
//! `.index` and a `.timeindex`), plus checkpoint files next to them: the recovery point,
//! the log start offset, the leader-epoch cache and a clean-shutdown marker. The unit
//! stored is the Kafka RecordBatch v2, byte for byte as produced, with the base offset
//! and the partition leader epoch set by the log ([`batch`]).
//!
//! What this crate promises, and where each promise is tested:
//! - an appended batch is read back byte for byte at the offsets append returned
//!   (`tests/model.rs`, a property test against an in-memory model);
//! - everything below the recovery point survives a crash; recovery keeps exactly the
//!   whole, CRC-valid prefix of the rest and never serves a corrupt batch
//!   (`tests/crash.rs`);
//! - an fsync error fails the log for good (`tests/durability.rs`);
//! - retention and compaction remove only what their policies allow, preserve offsets,
//!   and survive a crash midway (`tests/retention.rs`, `tests/compaction.rs`).
//!
//! The crate is synchronous and has no networking or metadata: the broker runs it on
//! blocking threads. Time and fsync are injected ([`Clock`], [`Disk`]).

pub mod batch;
pub mod checkpoint;
mod cleaner;
mod clock;
mod config;
mod disk;
mod error;
mod index;
pub mod leader_epoch_cache;
mod log;
pub mod producer_snapshot;
pub mod producer_state;
mod records;
pub mod retention;
mod scan;
pub mod segment;
pub mod testing;
pub mod validate;

pub use cleaner::CleanerStats;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{CleanupPolicy, ConfigKey, LogConfig, TimestampType};
pub use disk::{Disk, FaultyDisk, RealDisk};
pub use error::{Result, StorageError};
pub use log::{
    AppendInfo, CLEAN_SHUTDOWN_FILE, LOG_START_FILE, Log, LogReader, RECOVERY_POINT_FILE,
    ReadResult, RetentionOutcome,
};
pub use producer_state::ProducerStateTable;
