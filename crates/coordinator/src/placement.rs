//! Which `__consumer_offsets` partition coordinates a group: the one Kafka
//! picks, `abs(javaStringHashCode(group_id)) % partitions`. Using Kafka's own
//! rule keeps the mapping stable across Cairn versions (it is part of the
//! on-disk layout: a group's offsets live in that partition) and identical to
//! a Kafka cluster with the same partition count.

use std::num::NonZeroU32;

/// Java's `String.hashCode()`: `h = 31 * h + c` over the UTF-16 code units,
/// with 32-bit wrapping arithmetic.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The `__consumer_offsets` partition of `group_id` among `partitions`
/// (Kafka's `GroupCoordinator.partitionFor`; `Utils.abs` maps `i32::MIN` to 0).
pub fn offsets_partition_for(group_id: &str, partitions: NonZeroU32) -> u32 {
    let hash = java_string_hash(group_id);
    let abs = if hash == i32::MIN {
        0
    } else {
        hash.unsigned_abs()
    };
    abs % partitions.get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_javas_string_hash_code() {
        // Values of "…".hashCode() on a JVM.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // The classic collision: both are 2112.
        assert_eq!(java_string_hash("Aa"), java_string_hash("BB"));
        assert_eq!(java_string_hash("Aa"), 2112);
        // Wraps: "polygenelubricants".hashCode() is Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Outside the BMP: two UTF-16 code units, as Java counts them.
        assert_eq!(
            java_string_hash("😀"),
            0xD83D_i32.wrapping_mul(31).wrapping_add(0xDE00)
        );
    }

    fn n(partitions: u32) -> NonZeroU32 {
        NonZeroU32::new(partitions).unwrap()
    }

    #[test]
    fn partition_is_kafkas_partition_for() {
        assert_eq!(offsets_partition_for("hello", n(50)), 99_162_322 % 50);
        assert_eq!(offsets_partition_for("", n(16)), 0);
        // Utils.abs(Integer.MIN_VALUE) is 0.
        assert_eq!(offsets_partition_for("polygenelubricants", n(16)), 0);
        // A negative hash uses its absolute value: "dashboards-prod" hashes
        // to -1069957115 on a JVM, so partition 1069957115 % 16 = 11.
        assert_eq!(java_string_hash("dashboards-prod"), -1_069_957_115);
        assert_eq!(offsets_partition_for("dashboards-prod", n(16)), 11);
        assert_eq!(offsets_partition_for("my-consumer-group", n(16)), 9);
        for g in ["a", "b", "consumers", "dashboards"] {
            assert!(offsets_partition_for(g, n(16)) < 16);
            assert_eq!(offsets_partition_for(g, n(1)), 0);
        }
    }
}
