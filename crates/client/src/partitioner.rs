//! Kafka's keyed partitioning: `toPositive(murmur2(key)) % partitions`, so that a key
//! lands on the partition the Java client (and librdkafka's `murmur2_random`) picks.

use rill_types::PartitionIndex;

/// Kafka's `Utils.murmur2`: MurmurHash2, seed `0x9747b28c`, 4-byte little-endian chunks.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h = SEED ^ (data.len() as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for chunk in chunks {
        let mut k = u32::from_le_bytes(chunk.try_into().expect("4 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for `key` among `partitions`.
///
/// # Panics
/// If `partitions` is not positive: a topic always has at least one partition, so a
/// caller passing 0 has a bug.
pub fn partition_for_key(key: &[u8], partitions: i32) -> PartitionIndex {
    assert!(
        partitions > 0,
        "partition count must be positive, got {partitions}"
    );
    PartitionIndex::new((murmur2(key) & 0x7fff_ffff) % partitions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn matches_kafkas_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, hash) in cases {
            assert_eq!(murmur2(key), hash, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn partition_is_the_positive_hash_modulo_the_count() {
        // (-790332482 & 0x7fffffff) = 1357151166; % 10 = 6.
        assert_eq!(partition_for_key(b"foobar", 10), PartitionIndex::new(6));
        assert_eq!(partition_for_key(b"anything", 1), PartitionIndex::new(0));
    }
}
