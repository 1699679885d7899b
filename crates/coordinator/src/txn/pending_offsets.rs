//! Offsets committed inside a transaction (TxnOffsetCommit): held by the
//! group coordinator, invisible to OffsetFetch, until the transaction's
//! marker reaches the group's `__consumer_offsets` partition. A commit
//! marker makes them the group's committed offsets; an abort drops them.
//! This is what makes consume-transform-produce exactly once: the input
//! offsets and the output records become visible together or not at all.
//!
//! Pure: the offsets partition's state machine calls [`PendingOffsets::stage`]
//! when it applies a TxnOffsetCommit and [`PendingOffsets::complete`] when it
//! applies a marker, then commits what `complete` returns to its
//! [`crate::OffsetStore`]. (Not wired yet: part of issue 18.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::offsets::CommittedOffset;

/// (group, topic, partition).
pub type GroupPartition = (String, String, i32);

/// The transactional offsets of open transactions, by producer id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOffsets {
    by_producer: BTreeMap<i64, BTreeMap<GroupPartition, CommittedOffset>>,
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
}
