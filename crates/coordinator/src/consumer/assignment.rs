//! Topics as the consumer protocol names them (by topic id) and
//! [`Assignment`], a set of partitions by topic id, with the set operations
//! reconciliation and the assignors are written in.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A topic id (Kafka's UUID as a `u128`, as the metadata catalogue holds it).
pub type TopicId = u128;

/// What the coordinator knows of one subscribed topic: its id and partition
/// count, as the proposer of an event resolved them from the cluster metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopicInfo {
    /// The topic id.
    pub id: TopicId,
    /// How many partitions it has.
    pub partitions: u32,
}

/// Partitions by topic id. Never holds a topic with an empty set, so two
/// assignments with the same partitions are equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Assignment(BTreeMap<TopicId, BTreeSet<i32>>);

impl Assignment {
    /// No partitions.
    pub fn new() -> Self {
        Self::default()
    }

    /// An assignment of the given (topic, partitions) pairs.
    pub fn from_pairs<I, P>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (TopicId, P)>,
        P: IntoIterator<Item = i32>,
    {
        let mut assignment = Self::new();
        for (topic, partitions) in pairs {
            for partition in partitions {
                assignment.insert(topic, partition);
            }
        }
        assignment
    }

    /// Adds one partition; true if it was not there.
    pub fn insert(&mut self, topic: TopicId, partition: i32) -> bool {
        self.0.entry(topic).or_default().insert(partition)
    }

    /// Removes one partition; true if it was there.
    pub fn remove(&mut self, topic: TopicId, partition: i32) -> bool {
        let Some(partitions) = self.0.get_mut(&topic) else {
            return false;
        };
        let removed = partitions.remove(&partition);
        if partitions.is_empty() {
            self.0.remove(&topic);
        }
        removed
    }

    /// Whether it holds the partition.
    pub fn contains(&self, topic: TopicId, partition: i32) -> bool {
        self.0.get(&topic).is_some_and(|p| p.contains(&partition))
    }

    /// Whether it holds no partition.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many partitions it holds.
    pub fn len(&self) -> usize {
        self.0.values().map(BTreeSet::len).sum()
    }

    /// Every (topic, partition), in order.
    pub fn iter(&self) -> impl Iterator<Item = (TopicId, i32)> + '_ {
        self.0
            .iter()
            .flat_map(|(&topic, partitions)| partitions.iter().map(move |&p| (topic, p)))
    }

    /// The partitions by topic.
    pub fn topics(&self) -> &BTreeMap<TopicId, BTreeSet<i32>> {
        &self.0
    }

    /// The partitions of both.
    pub fn intersection(&self, other: &Self) -> Self {
        Self::from_pairs(
            self.iter()
                .filter(|&(t, p)| other.contains(t, p))
                .map(|(t, p)| (t, [p])),
        )
    }

    /// The partitions of `self` that `other` does not hold.
    pub fn difference(&self, other: &Self) -> Self {
        Self::from_pairs(
            self.iter()
                .filter(|&(t, p)| !other.contains(t, p))
                .map(|(t, p)| (t, [p])),
        )
    }

    /// The partitions of either.
    pub fn union(&self, other: &Self) -> Self {
        let mut union = self.clone();
        for (t, p) in other.iter() {
            union.insert(t, p);
        }
        union
    }

    /// Whether every partition of `self` is in `other`.
    pub fn is_subset(&self, other: &Self) -> bool {
        self.iter().all(|(t, p)| other.contains(t, p))
    }

    /// Whether the two share a partition.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.iter().any(|(t, p)| other.contains(t, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_keep_no_empty_topic() {
        let a = Assignment::from_pairs([(1, vec![0, 1]), (2, vec![0])]);
        let b = Assignment::from_pairs([(1, vec![1]), (2, vec![0])]);
        assert_eq!(a.difference(&b), Assignment::from_pairs([(1, vec![0])]));
        assert_eq!(a.intersection(&b), b);
        assert_eq!(a.difference(&a), Assignment::new());
        assert!(a.difference(&a).topics().is_empty());
        assert_eq!(a.union(&b), a);
        assert!(b.is_subset(&a) && !a.is_subset(&b));
        assert!(a.overlaps(&b));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn removing_the_last_partition_of_a_topic_drops_the_topic() {
        let mut a = Assignment::from_pairs([(7, vec![3])]);
        assert!(a.remove(7, 3));
        assert!(!a.remove(7, 3));
        assert_eq!(a, Assignment::new());
    }
}
