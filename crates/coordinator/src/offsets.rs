//! Committed offsets: group → topic → partition → [`CommittedOffset`]. A pure
//! map with the rules that concern offsets alone (metadata size, fetch
//! defaults, expiry by a base timestamp); whether a member may commit is the
//! group's business (the private `commit` module).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::CoordinatorError;
use crate::event::Millis;

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffset {
    /// The committed offset.
    pub offset: i64,
    /// Leader epoch of the last consumed record, if known.
    pub leader_epoch: Option<i32>,
    /// Client metadata (empty when the client sent null).
    pub metadata: String,
    /// When it was committed (the entry's timestamp).
    pub commit_timestamp: Millis,
}

/// One partition of an OffsetFetch answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    /// Partition index.
    pub partition: i32,
    /// The committed offset; `None` encodes as offset -1, leader epoch -1, metadata "".
    pub committed: Option<CommittedOffset>,
}

/// Offsets of one group: topic → partition → offset.
pub type GroupOffsets = BTreeMap<String, BTreeMap<i32, CommittedOffset>>;

/// Every group's committed offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetStore {
    groups: BTreeMap<String, GroupOffsets>,
}

impl OffsetStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses metadata longer than `max_bytes` (`offset.metadata.max.bytes`).
    pub fn check_metadata(
        group_id: &str,
        topic: &str,
        partition: i32,
        metadata: Option<&str>,
        max_bytes: usize,
    ) -> Result<(), CoordinatorError> {
        let size = metadata.map_or(0, str::len);
        if size > max_bytes {
            return Err(CoordinatorError::OffsetMetadataTooLarge {
                group_id: group_id.to_owned(),
                topic: topic.to_owned(),
                partition,
                size,
                max: max_bytes,
            });
        }
        Ok(())
    }

    /// Stores a commit, replacing the partition's previous one.
    pub fn commit(&mut self, group_id: &str, topic: &str, partition: i32, offset: CommittedOffset) {
        self.groups
            .entry(group_id.to_owned())
            .or_default()
            .entry(topic.to_owned())
            .or_default()
            .insert(partition, offset);
    }

    /// The committed offset of one partition.
    pub fn get(&self, group_id: &str, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.groups.get(group_id)?.get(topic)?.get(&partition)
    }

    /// A group's offsets, if it has any.
    pub fn group(&self, group_id: &str) -> Option<&GroupOffsets> {
        self.groups.get(group_id)
    }

    /// Whether the group has any committed offset.
    pub fn has_offsets(&self, group_id: &str) -> bool {
        self.groups.contains_key(group_id)
    }

    /// OffsetFetch: the named partitions (each, committed or not), or with
    /// `None` every committed partition of the group. Unknown groups have no
    /// offsets; that is not an error.
    pub fn fetch(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<(String, Vec<FetchedOffset>)> {
        let offsets = self.groups.get(group_id);
        match topics {
            Some(topics) => topics
                .iter()
                .map(|(topic, partitions)| {
                    let committed = offsets.and_then(|o| o.get(topic));
                    let fetched = partitions
                        .iter()
                        .map(|&partition| FetchedOffset {
                            partition,
                            committed: committed.and_then(|c| c.get(&partition)).cloned(),
                        })
                        .collect();
                    (topic.clone(), fetched)
                })
                .collect(),
            None => offsets
                .into_iter()
                .flatten()
                .map(|(topic, partitions)| {
                    let fetched = partitions
                        .iter()
                        .map(|(&partition, offset)| FetchedOffset {
                            partition,
                            committed: Some(offset.clone()),
                        })
                        .collect();
                    (topic.clone(), fetched)
                })
                .collect(),
        }
    }

    /// Deletes one partition's offset; true if there was one.
    pub fn remove(&mut self, group_id: &str, topic: &str, partition: i32) -> bool {
        let Some(offsets) = self.groups.get_mut(group_id) else {
            return false;
        };
        let removed = offsets
            .get_mut(topic)
            .and_then(|partitions| partitions.remove(&partition))
            .is_some();
        if offsets.get(topic).is_some_and(BTreeMap::is_empty) {
            offsets.remove(topic);
        }
        if offsets.is_empty() {
            self.groups.remove(group_id);
        }
        removed
    }

    /// Deletes every offset of the group; returns how many there were.
    pub fn remove_group(&mut self, group_id: &str) -> usize {
        self.groups
            .remove(group_id)
            .map_or(0, |offsets| offsets.values().map(BTreeMap::len).sum())
    }

    /// Deletes the group's offsets that have outlived `retention_ms` at `now`,
    /// counting from `base(offset)`, in topics `expirable` accepts. Returns the
    /// deleted (topic, partition) pairs in order.
    pub fn expire(
        &mut self,
        group_id: &str,
        now: Millis,
        retention_ms: u64,
        base: impl Fn(&CommittedOffset) -> Millis,
        expirable: impl Fn(&str) -> bool,
    ) -> Vec<(String, i32)> {
        let expired: Vec<(String, i32)> = self
            .groups
            .get(group_id)
            .into_iter()
            .flatten()
            .filter(|(topic, _)| expirable(topic))
            .flat_map(|(topic, partitions)| {
                partitions
                    .iter()
                    .filter(|(_, offset)| now.saturating_sub(base(offset)) >= retention_ms)
                    .map(|(&partition, _)| (topic.clone(), partition))
            })
            .collect();
        for (topic, partition) in &expired {
            self.remove(group_id, topic, *partition);
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64, commit_timestamp: Millis) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: Some(3),
            metadata: String::new(),
            commit_timestamp,
        }
    }

    #[test]
    fn commit_replaces_and_fetch_returns_the_latest() {
        let mut store = OffsetStore::new();
        store.commit("g", "t", 0, at(5, 1));
        store.commit("g", "t", 0, at(9, 2));
        assert_eq!(store.get("g", "t", 0), Some(&at(9, 2)));
    }

    #[test]
    fn fetch_of_named_partitions_answers_uncommitted_ones_with_none() {
        let mut store = OffsetStore::new();
        store.commit("g", "t", 0, at(5, 1));
        let fetched = store.fetch("g", Some(&[("t".to_owned(), vec![0, 1])]));
        assert_eq!(
            fetched,
            vec![(
                "t".to_owned(),
                vec![
                    FetchedOffset {
                        partition: 0,
                        committed: Some(at(5, 1))
                    },
                    FetchedOffset {
                        partition: 1,
                        committed: None
                    },
                ]
            )]
        );
        let unknown = store.fetch("nobody", Some(&[("t".to_owned(), vec![0])]));
        assert_eq!(unknown[0].1[0].committed, None);
    }

    #[test]
    fn fetch_all_lists_every_committed_partition_in_order() {
        let mut store = OffsetStore::new();
        store.commit("g", "b", 1, at(1, 1));
        store.commit("g", "a", 0, at(2, 1));
        let topics: Vec<String> = store.fetch("g", None).into_iter().map(|(t, _)| t).collect();
        assert_eq!(topics, ["a", "b"]);
        assert!(store.fetch("nobody", None).is_empty());
    }

    #[test]
    fn metadata_over_the_limit_is_refused_and_at_the_limit_accepted() {
        let at_limit = "x".repeat(4096);
        assert!(OffsetStore::check_metadata("g", "t", 0, Some(&at_limit), 4096).is_ok());
        let over = "x".repeat(4097);
        let err = OffsetStore::check_metadata("g", "t", 0, Some(&over), 4096).unwrap_err();
        assert_eq!(err.code(), crate::error_code::OFFSET_METADATA_TOO_LARGE);
    }

    #[test]
    fn expire_removes_only_offsets_past_retention_from_their_base() {
        let mut store = OffsetStore::new();
        store.commit("g", "t", 0, at(1, 100));
        store.commit("g", "t", 1, at(1, 500));
        let expired = store.expire("g", 1_100, 1_000, |o| o.commit_timestamp, |_| true);
        assert_eq!(expired, vec![("t".to_owned(), 0)]);
        assert!(store.get("g", "t", 1).is_some());
    }

    #[test]
    fn removing_the_last_offset_forgets_the_group() {
        let mut store = OffsetStore::new();
        store.commit("g", "t", 0, at(1, 1));
        assert!(store.remove("g", "t", 0));
        assert!(!store.remove("g", "t", 0));
        assert!(!store.has_offsets("g"));
    }
}
