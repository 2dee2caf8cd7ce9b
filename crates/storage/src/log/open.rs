//! Opening a log: finishing interrupted deletions and cleaner swaps, loading segments,
//! and — after an unclean shutdown — recovering: every batch from the recovery point on
//! is checked (length, CRC, offset order); the log is cut at the first torn or corrupt
//! batch; indexes are rebuilt. A bad batch below the recovery point was durable, so it is
//! an error naming file and offset, never silently dropped.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use rill_types::Offset;

use super::{CLEAN_SHUTDOWN_FILE, LOG_START_FILE, Log, RECOVERY_POINT_FILE, Shared, State};
use crate::checkpoint;
use crate::cleaner;
use crate::clock::Clock;
use crate::config::LogConfig;
use crate::disk::Disk;
use crate::error::{IoContext as _, Result, StorageError};
use crate::leader_epoch_cache::LeaderEpochCache;
use crate::producer_snapshot::ProducerSnapshots;
use crate::producer_state::{MAX_PRODUCERS, ProducerStateTable};
use crate::segment::{self, Segment};

/// Suffix of files being deleted: renamed first, removed after, so a crash in between is
/// finished on the next open.
pub const DELETED_SUFFIX: &str = ".deleted";

impl Log {
    /// Opens (or creates) the log in `dir`, recovering it if it was not closed cleanly.
    pub fn open(
        dir: &Path,
        config: LogConfig,
        clock: Arc<dyn Clock>,
        disk: Arc<dyn Disk>,
    ) -> Result<Log> {
        fs::create_dir_all(dir).io_context("create log directory", dir)?;
        cleaner::finish_interrupted_swaps(dir)?;
        let bases = list_segments(dir)?;

        let marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let clean = marker.exists();
        let recovery_point =
            Offset::new(checkpoint::read_i64(&dir.join(RECOVERY_POINT_FILE))?.unwrap_or(0));
        let start_checkpoint = checkpoint::read_i64(&dir.join(LOG_START_FILE))?.map(Offset::new);

        let mut segments = BTreeMap::new();
        for (i, base) in bases.iter().copied().enumerate() {
            // A segment wholly below the recovery point was durable: trust it (its CRCs are
            // checked lazily, before each batch is first served).
            let below_recovery_point = bases.get(i + 1).is_some_and(|next| *next <= recovery_point);
            if clean || below_recovery_point {
                let segment = Segment::open_trusted(dir, base, &config)?;
                check_order(&segments, &segment)?;
                segments.insert(base, segment);
                continue;
            }
            let (mut segment, stop) = Segment::open_recovering(dir, base, &config)?;
            check_order(&segments, &segment)?;
            let Some(stop) = stop else {
                segments.insert(base, segment);
                continue;
            };
            if segment.next_offset() < recovery_point {
                return Err(StorageError::CorruptBatch {
                    file: segment.path().to_owned(),
                    position: stop.position,
                    offset: stop.offset.or(Some(segment.next_offset())),
                    reason: format!(
                        "{} below the recovery point {recovery_point}: durable data is damaged",
                        stop.reason
                    ),
                });
            }
            tracing::warn!(
                file = %segment.path().display(),
                position = stop.position,
                reason = %stop.reason,
                "truncating torn or corrupt tail after unclean shutdown"
            );
            segment.truncate_at(stop.position, &config)?;
            segments.insert(base, segment);
            // Nothing after a bad batch can be trusted to follow it: drop later segments.
            for later in &bases[i + 1..] {
                tracing::warn!(base = %later, "deleting segment after a corrupt batch");
                delete_segment_files(dir, *later)?;
            }
            break;
        }

        if segments.is_empty() {
            let base = start_checkpoint.unwrap_or(Offset::ZERO);
            segments.insert(base, Segment::create(dir, base, &config)?);
        }
        let first_base = *segments.keys().next().expect("non-empty");
        let log_start = start_checkpoint.unwrap_or(first_base).max(first_base);
        // The log end is never below the log start (see `Log::truncate_to`).
        let log_end = segments
            .values()
            .next_back()
            .expect("non-empty")
            .next_offset()
            .max(log_start);

        let mut epochs = LeaderEpochCache::load(dir)?;
        let trimmed_end = epochs.truncate_from_end(log_end);
        let trimmed_start = epochs.truncate_from_start(log_start);
        if trimmed_end || trimmed_start {
            epochs.persist(&*disk)?;
        }

        let now = clock.now_ms();
        let producers = ProducerStateTable::new(MAX_PRODUCERS, config.producer_id_expiration_ms);
        let snapshots = ProducerSnapshots::list(dir)?;
        let mut log = Log {
            shared: Arc::new(Shared {
                dir: dir.to_owned(),
                state: Mutex::new(State {
                    segments,
                    log_start,
                    log_end,
                    failed: None,
                }),
                generation: AtomicU64::new(0),
            }),
            config,
            clock,
            disk,
            epochs,
            producers,
            snapshots,
            recovery_point: if clean { log_end } else { Offset::ZERO },
            unflushed_records: 0,
            defer_policy_flush: false,
            last_flush_ms: now,
            dir_dirty: true,
        };
        if !clean {
            // What recovery kept may have been only in the page cache: make it durable
            // before it counts as below the recovery point.
            let handles: Vec<_> = {
                let mut state = log.shared.lock();
                let mut handles = Vec::new();
                // Recovery rebuilt indexes: sync them with the logs.
                for segment in state.segments.values_mut() {
                    handles.extend(segment.take_all_for_sync()?);
                }
                handles
            };
            for (file, path) in &handles {
                log.disk.sync_file(file).io_context("fsync", path)?;
            }
            log.recovery_point = log_end;
        }
        log.load_producer_state()?;
        log.sync_dir_if_dirty()?;
        log.checkpoint()?;
        if clean {
            // The marker must be gone (durably) before anything new is appended, or a crash
            // after the append would skip recovery of it.
            fs::remove_file(&marker).io_context("remove clean-shutdown marker", &marker)?;
            log.disk.sync_dir(dir).io_context("fsync directory", dir)?;
        }
        Ok(log)
    }
}

fn check_order(segments: &BTreeMap<Offset, Segment>, next: &Segment) -> Result<()> {
    if let Some(previous) = segments.values().next_back()
        && previous.next_offset() > next.base()
    {
        return Err(StorageError::CorruptBatch {
            file: next.path().to_owned(),
            position: 0,
            offset: Some(next.base()),
            reason: format!(
                "segment starts at {} but the previous one ends at {}",
                next.base(),
                previous.next_offset()
            ),
        });
    }
    Ok(())
}

/// Base offsets of the `.log` files in `dir`, ascending; removes leftovers of interrupted
/// deletions (`.deleted`), checkpoint temp files, and indexes without a log.
fn list_segments(dir: &Path) -> Result<Vec<Offset>> {
    let mut bases = Vec::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir).io_context("list log directory", dir)? {
        let entry = entry.io_context("list log directory", dir)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.ends_with(DELETED_SUFFIX) || name.ends_with(".tmp") {
            fs::remove_file(&path).io_context("remove leftover file", &path)?;
            continue;
        }
        let Some((stem, ext)) = name.split_once('.') else {
            continue;
        };
        let Some(base) = parse_stem(stem) else {
            continue;
        };
        match ext {
            "log" => bases.push(base),
            "index" | "timeindex" => indexes.push((base, path)),
            _ => {}
        }
    }
    bases.sort_unstable();
    for (base, path) in indexes {
        if bases.binary_search(&base).is_err() {
            fs::remove_file(&path).io_context("remove orphan index", &path)?;
        }
    }
    Ok(bases)
}

fn parse_stem(stem: &str) -> Option<Offset> {
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok().map(Offset::new))
        .flatten()
}

/// Renames a segment's three files to `.deleted`, then removes them. A crash in between
/// leaves `.deleted` files, which the next open removes.
pub(crate) fn delete_segment_files(dir: &Path, base: Offset) -> Result<()> {
    let mut renamed = Vec::new();
    for path in segment::paths(dir, base) {
        let mut deleted = path.clone().into_os_string();
        deleted.push(DELETED_SUFFIX);
        match fs::rename(&path, &deleted) {
            Ok(()) => renamed.push(deleted),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).io_context("rename segment for deletion", &path),
        }
    }
    for path in renamed {
        fs::remove_file(&path).io_context("remove deleted segment", Path::new(&path))?;
    }
    Ok(())
}
