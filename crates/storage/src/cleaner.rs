//! Compaction (placeholder for the swap protocol; the cleaner follows).

use std::path::Path;

use crate::error::Result;

/// What a compaction pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleanerStats {
    /// Records read.
    pub records_read: u64,
}

/// Finishes or rolls back cleaner swaps a crash interrupted.
pub(crate) fn finish_interrupted_swaps(_dir: &Path) -> Result<()> {
    Ok(())
}
