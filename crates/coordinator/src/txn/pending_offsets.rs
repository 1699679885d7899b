//! Offsets committed inside a transaction (TxnOffsetCommit): held by the
//! group coordinator, invisible to OffsetFetch, until the transaction's
//! marker reaches the group's `__consumer_offsets` partition. A commit
//! marker makes them the group's committed offsets; an abort drops them.
//! This is what makes consume-transform-produce exactly once: the input
//! offsets and the output records become visible together or not at all.
//!
//! Pure: the group coordinator calls [`PendingOffsets::stage`] when it
//! applies a TxnOffsetCommit and [`PendingOffsets::complete`] when it
//! applies a marker, then commits what `complete` returns to its
//! [`crate::OffsetStore`]. Markers carry the coordinator's transaction
//! number: a late duplicate of an earlier transaction's marker (see
//! [`PendingOffsets::is_new_marker`]) must not complete the next one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::offsets::CommittedOffset;

/// (group, topic, partition).
pub type GroupPartition = (String, String, i32);

/// The transactional offsets of open transactions, by producer id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOffsets {
    by_producer: BTreeMap<i64, BTreeMap<GroupPartition, CommittedOffset>>,
    /// Producer id → the number of the last transaction whose marker was
    /// applied here.
    last_marker: BTreeMap<i64, u64>,
}

impl PendingOffsets {
    /// Holds `offset` for `group`'s `topic`/`partition` in `producer_id`'s
    /// transaction; a later commit of the same partition in the same
    /// transaction replaces it.
    pub fn stage(
        &mut self,
        producer_id: i64,
        group: &str,
        topic: &str,
        partition: i32,
        offset: CommittedOffset,
    ) {
        self.by_producer
            .entry(producer_id)
            .or_default()
            .insert((group.to_string(), topic.to_string(), partition), offset);
    }

    /// Ends `producer_id`'s transaction here: with `commit`, its offsets to
    /// commit, in (group, topic, partition) order; after an abort, none.
    pub fn complete(
        &mut self,
        producer_id: i64,
        commit: bool,
    ) -> Vec<(GroupPartition, CommittedOffset)> {
        let staged = self.by_producer.remove(&producer_id).unwrap_or_default();
        if commit {
            staged.into_iter().collect()
        } else {
            Vec::new()
        }
    }

    /// Whether a marker ending transaction `txn_seq` of `producer_id` is
    /// new here (not a duplicate of one applied).
    pub fn is_new_marker(&self, producer_id: i64, txn_seq: u64) -> bool {
        self.last_marker
            .get(&producer_id)
            .is_none_or(|last| txn_seq > *last)
    }

    /// [`PendingOffsets::complete`] for the marker of transaction `txn_seq`;
    /// nothing for a late duplicate.
    pub fn complete_marker(
        &mut self,
        producer_id: i64,
        txn_seq: u64,
        commit: bool,
    ) -> Vec<(GroupPartition, CommittedOffset)> {
        if !self.is_new_marker(producer_id, txn_seq) {
            return Vec::new();
        }
        self.last_marker.insert(producer_id, txn_seq);
        self.complete(producer_id, commit)
    }

    /// Whether nothing is held or remembered.
    pub fn is_empty(&self) -> bool {
        self.by_producer.is_empty() && self.last_marker.is_empty()
    }

    /// Whether an offset of `group` for `topic`/`partition` waits for a marker.
    pub fn is_pending(&self, group: &str, topic: &str, partition: i32) -> bool {
        let key = (group.to_string(), topic.to_string(), partition);
        self.by_producer.values().any(|m| m.contains_key(&key))
    }

    /// Whether `group` has offsets waiting for a marker (Kafka refuses to
    /// delete such a group, and OffsetFetch with `require_stable` waits).
    pub fn has_pending(&self, group: &str) -> bool {
        self.by_producer
            .values()
            .any(|m| m.keys().any(|(g, _, _)| g == group))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: None,
            metadata: String::new(),
            commit_timestamp: 0,
        }
    }

    fn key(group: &str, topic: &str, partition: i32) -> GroupPartition {
        (group.into(), topic.into(), partition)
    }

    #[test]
    fn a_commit_marker_releases_the_last_staged_offset_of_each_partition() {
        let mut pending = PendingOffsets::default();
        pending.stage(7, "g", "in", 1, at(10));
        pending.stage(7, "g", "in", 0, at(5));
        pending.stage(7, "g", "in", 1, at(12));
        assert!(pending.has_pending("g"));
        assert_eq!(
            pending.complete(7, true),
            [(key("g", "in", 0), at(5)), (key("g", "in", 1), at(12))]
        );
        assert!(!pending.has_pending("g"));
        assert_eq!(pending, PendingOffsets::default());
    }

    #[test]
    fn an_abort_marker_drops_them() {
        let mut pending = PendingOffsets::default();
        pending.stage(7, "g", "in", 0, at(5));
        assert_eq!(pending.complete(7, false), []);
        assert!(!pending.has_pending("g"));
    }

    #[test]
    fn producers_are_kept_apart() {
        let mut pending = PendingOffsets::default();
        pending.stage(7, "g", "in", 0, at(5));
        pending.stage(8, "h", "in", 0, at(9));
        assert_eq!(pending.complete(8, true), [(key("h", "in", 0), at(9))]);
        assert!(pending.has_pending("g"));
        assert!(!pending.has_pending("h"));
        // A marker for a producer with nothing staged here releases nothing.
        assert_eq!(pending.complete(99, true), []);
    }

    #[test]
    fn the_staged_offsets_survive_a_snapshot_round_trip() {
        let mut pending = PendingOffsets::default();
        pending.stage(7, "g", "in", 0, at(5));
        let bytes = bincode::serialize(&pending).unwrap();
        assert_eq!(
            bincode::deserialize::<PendingOffsets>(&bytes).unwrap(),
            pending
        );
    }

    #[test]
    fn a_late_duplicate_marker_does_not_complete_the_next_transaction() {
        let mut pending = PendingOffsets::default();
        pending.stage(7, "g", "t", 0, at(10));
        assert_eq!(pending.complete_marker(7, 1, true).len(), 1);
        pending.stage(7, "g", "t", 0, at(20));
        assert!(pending.complete_marker(7, 1, true).is_empty());
        assert!(pending.has_pending("g"));
        assert_eq!(pending.complete_marker(7, 2, true)[0].1.offset, 20);
    }
}
