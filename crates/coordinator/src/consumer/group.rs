//! A consumer (KIP-848) group's state and the bookkeeping every transition
//! uses: members, static instance ids, the target assignment, which member
//! owns which partition, and the metadata of the subscribed topics.
//!
//! Invariants, kept by `ConsumerGroup::put_member` and
//! `ConsumerGroup::remove_member` (the only ways members change):
//! - `owners` maps each partition a member owns (assigned or pending
//!   revocation) to that member, and nothing else: no partition is owned by
//!   two members;
//! - `static_members` maps each static member's instance id to its member id;
//! - `target` holds entries only for members;
//! - `assignment_epoch <= group_epoch`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::assignment::{Assignment, TopicId, TopicInfo};
use super::member::ConsumerMember;
use crate::event::Millis;
use crate::group::GroupState;

/// A consumer-protocol group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerGroup {
    pub(crate) group_id: String,
    /// Bumped whenever the assignment must be recomputed: a member joins,
    /// leaves or changes its subscription, or a subscribed topic changes.
    pub(crate) group_epoch: i32,
    /// The group epoch the target assignment was computed at.
    pub(crate) assignment_epoch: i32,
    pub(crate) members: BTreeMap<String, ConsumerMember>,
    pub(crate) static_members: BTreeMap<String, String>,
    /// Member id → the partitions the assignor wants it to have.
    pub(crate) target: BTreeMap<String, Assignment>,
    /// Topic id → partition → the member that owns it.
    pub(crate) owners: BTreeMap<TopicId, BTreeMap<i32, String>>,
    /// Name → id and partition count of every subscribed topic that exists.
    pub(crate) subscribed_topics: BTreeMap<String, TopicInfo>,
    /// Regular expression → the topic names it matched when last resolved.
    pub(crate) resolved_regexes: BTreeMap<String, BTreeSet<String>>,
    /// When the group was created (or last became empty).
    pub(crate) state_timestamp: Millis,
}

impl ConsumerGroup {
    /// A new empty group at epoch 0.
    pub fn new(group_id: impl Into<String>, now: Millis) -> Self {
        Self {
            group_id: group_id.into(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            target: BTreeMap::new(),
            owners: BTreeMap::new(),
            subscribed_topics: BTreeMap::new(),
            resolved_regexes: BTreeMap::new(),
            state_timestamp: now,
        }
    }

    /// The group id.
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// The group epoch.
    pub fn group_epoch(&self) -> i32 {
        self.group_epoch
    }

    /// The epoch of the current target assignment.
    pub fn assignment_epoch(&self) -> i32 {
        self.assignment_epoch
    }

    /// Kafka's consumer group state, derived from the epochs and members.
    pub fn state(&self) -> GroupState {
        if self.members.is_empty() {
            GroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            GroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| !m.is_reconciled_to(self.assignment_epoch))
        {
            GroupState::Reconciling
        } else {
            GroupState::Stable
        }
    }

    /// The members, by member id.
    pub fn members(&self) -> impl Iterator<Item = &ConsumerMember> {
        self.members.values()
    }

    /// One member.
    pub fn member(&self, member_id: &str) -> Option<&ConsumerMember> {
        self.members.get(member_id)
    }

    /// The member id holding a static instance id.
    pub fn static_member_id(&self, instance_id: &str) -> Option<&str> {
        self.static_members.get(instance_id).map(String::as_str)
    }

    /// A member's target assignment (empty if it has none).
    pub fn target_of(&self, member_id: &str) -> Assignment {
        self.target.get(member_id).cloned().unwrap_or_default()
    }

    /// The member that owns a partition, if any.
    pub fn owner_of(&self, topic: TopicId, partition: i32) -> Option<&str> {
        self.owners.get(&topic)?.get(&partition).map(String::as_str)
    }

    /// Name → id and partition count of the subscribed topics that exist.
    pub fn subscribed_topics(&self) -> &BTreeMap<String, TopicInfo> {
        &self.subscribed_topics
    }

    /// The topic names the group reads: every member's names and regex matches.
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| self.member_topic_names(m))
            .collect()
    }

    /// The regular expressions members subscribe with.
    pub fn subscribed_regexes(&self) -> BTreeSet<String> {
        self.members
            .values()
            .filter_map(|m| m.subscribed_topic_regex.clone())
            .filter(|r| !r.is_empty())
            .collect()
    }

    /// The topic names one member reads: its names and its regex's matches.
    pub fn member_topic_names(&self, member: &ConsumerMember) -> BTreeSet<String> {
        let mut names = member.subscribed_topic_names.clone();
        if let Some(matched) = member
            .subscribed_topic_regex
            .as_ref()
            .and_then(|r| self.resolved_regexes.get(r))
        {
            names.extend(matched.iter().cloned());
        }
        names
    }

    /// Whether the group reads `topic` (its offsets are then kept and
    /// OffsetDelete refuses them).
    pub fn is_subscribed_to_topic(&self, topic: &str) -> bool {
        self.members
            .values()
            .any(|m| self.member_topic_names(m).contains(topic))
    }

    /// The assignor of the next target assignment: the one most members ask
    /// for (ties: the smallest name), else `default`.
    pub fn preferred_assignor<'a>(&'a self, default: &'a str) -> &'a str {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for name in self
            .members
            .values()
            .filter_map(|m| m.server_assignor.as_deref())
        {
            *votes.entry(name).or_default() += 1;
        }
        let most = votes.values().copied().max().unwrap_or(0);
        votes
            .into_iter()
            .find(|(_, count)| *count == most)
            .map_or(default, |(name, _)| name)
    }

    /// Adds or replaces a member, keeping `owners` and `static_members` in
    /// step with its partitions and instance id.
    pub(crate) fn put_member(&mut self, member: ConsumerMember) {
        self.release_partitions_of(&member.member_id);
        for (topic, partition) in member.owned().iter() {
            let previous = self
                .owners
                .entry(topic)
                .or_default()
                .insert(partition, member.member_id.clone());
            debug_assert!(
                previous.is_none(),
                "partition {topic}-{partition} of group {} is owned by {previous:?} and {}",
                self.group_id,
                member.member_id
            );
        }
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member with its partitions, target and instance id.
    pub(crate) fn remove_member(&mut self, member_id: &str) -> Option<ConsumerMember> {
        self.release_partitions_of(member_id);
        let removed = self.members.remove(member_id)?;
        if let Some(instance) = &removed.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.target.remove(member_id);
        Some(removed)
    }

    /// Forgets which partitions `member_id` owns.
    fn release_partitions_of(&mut self, member_id: &str) {
        let Some(member) = self.members.get(member_id) else {
            return;
        };
        for (topic, partition) in member.owned().iter() {
            if let Some(partitions) = self.owners.get_mut(&topic) {
                if partitions.get(&partition).map(String::as_str) == Some(member_id) {
                    partitions.remove(&partition);
                }
                if partitions.is_empty() {
                    self.owners.remove(&topic);
                }
            }
        }
    }

    /// Whether a partition is owned by a member other than `member_id`.
    pub(crate) fn owned_by_other(&self, topic: TopicId, partition: i32, member_id: &str) -> bool {
        self.owner_of(topic, partition)
            .is_some_and(|owner| owner != member_id)
    }
}
