//! [`compare_replicas`]: do the replicas of a partition hold the same bytes below the
//! high watermark? Followers store the leader's batches as they are (leader epoch, CRC
//! and all), so committed data must be identical byte for byte, batch for batch.

use std::path::{Path, PathBuf};

use crate::segments::{Batch, read_batches};

/// Compares the partition directories `dirs` (one per replica) over every batch whose
/// last offset is below `high_watermark`. Returns the first difference: the replica and
/// offset where its batches stop matching the first replica's (different bytes, a
/// different batch boundary, or a batch missing), or why a directory could not be read.
/// A batch that straddles the high watermark is not compared.
pub fn compare_replicas(dirs: &[PathBuf], high_watermark: i64) -> Result<(), String> {
    let Some((first, rest)) = dirs.split_first() else {
        return Ok(());
    };
    let reference = committed(first, high_watermark)?;
    for dir in rest {
        let other = committed(dir, high_watermark)?;
        if let Some(difference) = first_difference(&reference, &other) {
            return Err(format!(
                "{} differs from {} below high watermark {high_watermark}: {difference}",
                dir.display(),
                first.display()
            ));
        }
    }
    Ok(())
}

/// The batches of `dir` wholly below `high_watermark`.
fn committed(dir: &Path, high_watermark: i64) -> Result<Vec<Batch>, String> {
    let batches = read_batches(dir).map_err(|e| e.to_string())?;
    Ok(batches
        .into_iter()
        .filter(|b| b.last_offset < high_watermark)
        .collect())
}

/// Where `other` first stops matching `reference`, described, if it does.
fn first_difference(reference: &[Batch], other: &[Batch]) -> Option<String> {
    for i in 0..reference.len().max(other.len()) {
        match (reference.get(i), other.get(i)) {
            (Some(r), Some(o)) if r.bytes == o.bytes => {}
            (Some(r), Some(o))
                if (r.base_offset, r.last_offset) != (o.base_offset, o.last_offset) =>
            {
                return Some(format!(
                    "batch {i} covers offsets {}..={} here but {}..={} in the reference",
                    o.base_offset, o.last_offset, r.base_offset, r.last_offset
                ));
            }
            (Some(r), Some(o)) => {
                let byte = r
                    .bytes
                    .iter()
                    .zip(&o.bytes)
                    .position(|(a, b)| a != b)
                    .unwrap_or(r.bytes.len().min(o.bytes.len()));
                return Some(format!(
                    "batch at offset {} differs at byte {byte} ({} bytes here, {} in the reference)",
                    r.base_offset,
                    o.bytes.len(),
                    r.bytes.len()
                ));
            }
            (Some(r), None) => {
                return Some(format!("missing the batch at offset {}", r.base_offset));
            }
            (None, Some(o)) => {
                return Some(format!(
                    "has a batch at offset {} the reference lacks",
                    o.base_offset
                ));
            }
            (None, None) => unreachable!("i is below the longer length"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::testing::{batch, write_segment};

    fn replicas(n: usize) -> (Vec<tempfile::TempDir>, Vec<PathBuf>) {
        let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
        let paths = dirs.iter().map(|d| d.path().to_owned()).collect();
        (dirs, paths)
    }

    #[test]
    fn identical_replicas_agree_and_the_tail_past_the_watermark_is_ignored() {
        let (_keep, dirs) = replicas(3);
        for dir in &dirs {
            write_segment(dir, 0, &[batch(0, 2, 1), batch(2, 2, 2)]);
        }
        // One replica has an uncommitted batch the others lack, and a straddling one.
        write_segment(&dirs[1], 4, &[batch(4, 2, 9)]);
        assert_eq!(compare_replicas(&dirs, 4), Ok(()));
        assert_eq!(compare_replicas(&dirs, 5), Ok(()));
    }

    #[test]
    fn a_byte_difference_names_the_replica_and_offset() {
        let (_keep, dirs) = replicas(2);
        write_segment(&dirs[0], 0, &[batch(0, 2, 1), batch(2, 2, 2)]);
        write_segment(&dirs[1], 0, &[batch(0, 2, 1), batch(2, 2, 3)]);
        let err = compare_replicas(&dirs, 4).unwrap_err();
        assert!(err.contains(&dirs[1].display().to_string()), "{err}");
        assert!(err.contains("offset 2"), "{err}");
        assert_eq!(compare_replicas(&dirs, 2), Ok(()));
    }

    #[test]
    fn a_missing_batch_or_different_boundaries_are_differences() {
        let (_keep, dirs) = replicas(2);
        write_segment(&dirs[0], 0, &[batch(0, 2, 1), batch(2, 2, 2)]);
        write_segment(&dirs[1], 0, &[batch(0, 2, 1)]);
        let err = compare_replicas(&dirs, 4).unwrap_err();
        assert!(err.contains("missing the batch at offset 2"), "{err}");

        write_segment(&dirs[1], 0, &[batch(0, 1, 1), batch(1, 3, 2)]);
        let err = compare_replicas(&dirs, 4).unwrap_err();
        assert!(err.contains("offsets 0..=0"), "{err}");
    }

    #[test]
    fn an_unreadable_directory_is_reported() {
        let (_keep, mut dirs) = replicas(1);
        dirs.push(dirs[0].join("absent"));
        assert!(compare_replicas(&dirs, 1).unwrap_err().contains("absent"));
    }
}
