//! Key encoding. Every key starts with the big-endian group id, so one group's
//! keys are contiguous and `[group‖0, group+1‖0)` covers exactly that group.

use crate::GroupId;

/// Tags of the per-group keys in the `state` column family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum StateTag {
    /// The last vote (term, candidate, committed flag).
    Vote = 1,
    /// The last committed log id openraft told us about.
    Committed = 2,
    /// The last purged log id; written before the purged entries are deleted.
    LastPurged = 3,
    /// The latest snapshot (meta and state-machine bytes).
    Snapshot = 4,
    /// A partition's applied state (offsets, last applied, membership).
    PartitionState = 5,
    /// One idempotent producer's state in a partition; the key goes on with
    /// the producer id (see [`producer_key`]).
    Producer = 6,
    /// A partition's transaction index (open and aborted transactions).
    Txns = 7,
}

/// `group ‖ index` in the `log` column family.
pub fn log_key(group: GroupId, index: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&group.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The log index stored in a `log` key; `None` if the key is malformed.
pub fn log_index(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(8..16)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// `group ‖ tag` in the `state` column family.
pub fn state_key(group: GroupId, tag: StateTag) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[..8].copy_from_slice(&group.to_be_bytes());
    key[8] = tag as u8;
    key
}

/// `group ‖ Producer ‖ producer id` in the `state` column family. The id is
/// written as its bits plus 2^63 (big-endian), so keys sort by id.
pub fn producer_key(group: GroupId, producer_id: i64) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[..9].copy_from_slice(&state_key(group, StateTag::Producer));
    key[9..].copy_from_slice(&((producer_id as u64) ^ (1 << 63)).to_be_bytes());
    key
}

/// The producer id of a [`producer_key`]; `None` if the key is not one.
pub fn producer_id(key: &[u8]) -> Option<i64> {
    if key.len() != 17 || key[8] != StateTag::Producer as u8 {
        return None;
    }
    let bytes: [u8; 8] = key[9..].try_into().ok()?;
    Some((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// The first key of `group` in any column family.
pub fn group_start(group: GroupId) -> [u8; 8] {
    group.to_be_bytes()
}

/// The first key after every key of `group`. Group ids never reach `u64::MAX`
/// (the metadata allocator starts at 1 and counts up), so `group + 1` cannot wrap.
pub fn group_end(group: GroupId) -> [u8; 8] {
    group.saturating_add(1).to_be_bytes()
}

/// The group id a key belongs to; `None` if the key is malformed.
pub fn key_group(key: &[u8]) -> Option<GroupId> {
    let bytes: [u8; 8] = key.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_sort_by_group_then_index() {
        let mut keys = vec![
            log_key(2, 1),
            log_key(1, 300),
            log_key(1, 2),
            log_key(256, 0),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                log_key(1, 2),
                log_key(1, 300),
                log_key(2, 1),
                log_key(256, 0)
            ]
        );
        assert_eq!(log_index(&log_key(7, 99)), Some(99));
        assert_eq!(key_group(&log_key(7, 99)), Some(7));
        assert_eq!(log_index(b"short"), None);
    }

    #[test]
    fn producer_keys_sort_by_id_and_stay_in_their_group() {
        let ids = [i64::MIN, -1, 0, 1, 1000, i64::MAX];
        let keys: Vec<_> = ids.iter().map(|&id| producer_key(3, id)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for (id, key) in ids.iter().zip(&keys) {
            assert_eq!(producer_id(key), Some(*id));
            assert!(key.as_slice() > state_key(3, StateTag::Producer).as_slice());
            assert!(key.as_slice() < group_end(3).as_slice());
        }
        assert_eq!(producer_id(&state_key(3, StateTag::Producer)), None);
        assert_eq!(producer_id(&log_key(3, 1)), None);
    }

    #[test]
    fn group_range_covers_only_that_group() {
        let start = group_start(5);
        let end = group_end(5);
        assert!(log_key(5, 0).as_slice() >= start.as_slice());
        assert!(log_key(5, u64::MAX).as_slice() < end.as_slice());
        assert!(log_key(6, 0).as_slice() >= end.as_slice());
        assert!(state_key(5, StateTag::Snapshot).as_slice() < end.as_slice());
    }
}
