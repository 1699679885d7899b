//! A classic group's state and the bookkeeping every transition uses: adding,
//! removing and replacing members, protocol selection, leader election. The
//! transitions themselves (which need timers and responses) are in the
//! private `rebalance` module and the request handlers.
//!
//! Invariants: `static_members` maps each static member's instance id to its
//! member id and nothing else; `leader`, when set, names a member; a pending
//! member (MEMBER_ID_REQUIRED issued, not yet rejoined) is never in `members`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decision::{GroupMetadataRecord, JoinGroupMember, MemberRecord};
use crate::error::CoordinatorError;
use crate::event::{Millis, Protocol};
use crate::member::Member;
use crate::subscription::{subscribed_topics, CONSUMER_PROTOCOL_TYPE};

/// The state of a group, named as Kafka reports it. Classic groups go
/// through the first five; consumer (KIP-848) groups are Empty, Assigning,
/// Reconciling or Stable (Dead for a group that does not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GroupState {
    /// No members (possibly committed offsets, possibly pending members).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Join phase done; waiting for the leader's assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// The group does not exist (reported for unknown groups).
    Dead,
    /// Consumer groups: the group epoch moved past the target assignment's
    /// (a member joined, left or changed its subscription, or a topic changed).
    Assigning,
    /// Consumer groups: a target assignment is computed and some member has
    /// not reached it yet.
    Reconciling,
}

impl GroupState {
    /// Every state, in Kafka's order.
    pub const ALL: [GroupState; 7] = [
        Self::Empty,
        Self::PreparingRebalance,
        Self::CompletingRebalance,
        Self::Stable,
        Self::Dead,
        Self::Assigning,
        Self::Reconciling,
    ];

    /// The name Kafka uses in DescribeGroups and ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            Self::Empty => "Empty",
            Self::PreparingRebalance => "PreparingRebalance",
            Self::CompletingRebalance => "CompletingRebalance",
            Self::Stable => "Stable",
            Self::Dead => "Dead",
            Self::Assigning => "Assigning",
            Self::Reconciling => "Reconciling",
        }
    }

    /// Parses a state name, ignoring case and surrounding spaces (as ListGroups filters do).
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|state| state.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for GroupState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Bookkeeping of an initial rebalance (the first one of an Empty group),
/// whose join phase is delayed by `group.initial.rebalance.delay.ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialDelay {
    /// The delay the join timer was armed with.
    pub delay_ms: u64,
    /// How much of the rebalance timeout is left to extend into.
    pub remaining_ms: u64,
}

/// A classic-protocol group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassicGroup {
    pub(crate) group_id: String,
    pub(crate) state: GroupState,
    pub(crate) previous_state: GroupState,
    pub(crate) state_timestamp: Millis,
    pub(crate) generation_id: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    pub(crate) static_members: BTreeMap<String, String>,
    pub(crate) pending_join_members: BTreeSet<String>,
    pub(crate) pending_sync_members: BTreeSet<String>,
    pub(crate) new_member_added: bool,
    pub(crate) initial_delay: Option<InitialDelay>,
    pub(crate) subscribed_topics: Option<BTreeSet<String>>,
}

impl ClassicGroup {
    /// A new Empty group at generation 0.
    pub fn new(group_id: impl Into<String>, now: Millis) -> Self {
        Self {
            group_id: group_id.into(),
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            state_timestamp: now,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            static_members: BTreeMap::new(),
            pending_join_members: BTreeSet::new(),
            pending_sync_members: BTreeSet::new(),
            new_member_added: false,
            initial_delay: None,
            subscribed_topics: None,
        }
    }

    /// The group id.
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// The current state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// When the group entered its current state.
    pub fn state_timestamp(&self) -> Millis {
        self.state_timestamp
    }

    /// The current generation (0 before the first rebalance).
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    /// The protocol type, set by the first member.
    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }

    /// The protocol chosen for the current generation.
    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }

    /// The leader's member id.
    pub fn leader(&self) -> Option<&str> {
        self.leader.as_deref()
    }

    /// The members, by member id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// One member.
    pub fn member(&self, member_id: &str) -> Option<&Member> {
        self.members.get(member_id)
    }

    /// The member id that owns a static instance id.
    pub fn static_member_id(&self, group_instance_id: &str) -> Option<&str> {
        self.static_members
            .get(group_instance_id)
            .map(String::as_str)
    }

    /// Member ids given out with MEMBER_ID_REQUIRED that have not rejoined yet.
    pub fn pending_members(&self) -> impl Iterator<Item = &str> {
        self.pending_join_members.iter().map(String::as_str)
    }

    /// Whether `member_id` is pending (given out, not yet rejoined).
    pub fn is_pending(&self, member_id: &str) -> bool {
        self.pending_join_members.contains(member_id)
    }

    /// Whether `member_id` is the leader.
    pub fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    pub(crate) fn transition_to(&mut self, state: GroupState, now: Millis) {
        self.previous_state = self.state;
        self.state = state;
        self.state_timestamp = now;
    }

    /// A rebalance can start from Empty, Stable and CompletingRebalance.
    pub(crate) fn can_rebalance(&self) -> bool {
        matches!(
            self.state,
            GroupState::Empty | GroupState::Stable | GroupState::CompletingRebalance
        )
    }

    /// Adds a member (which must be new to the group). The first member sets
    /// the protocol type; a group without a leader gets this one.
    pub(crate) fn add_member(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.member_id.clone());
        }
        self.pending_join_members.remove(&member.member_id);
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member or a pending member. A removed leader is replaced by
    /// the first remaining member id.
    pub(crate) fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let removed = self.members.remove(member_id);
        if let Some(instance) = removed.as_ref().and_then(|m| m.group_instance_id.as_ref()) {
            self.static_members.remove(instance);
        }
        if self.is_leader(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        self.pending_join_members.remove(member_id);
        self.pending_sync_members.remove(member_id);
        removed
    }

    /// Gives a static member a new member id, keeping everything else
    /// (assignment included). Returns the old member, whose parked requests
    /// the caller answers with FENCED_INSTANCE_ID.
    pub(crate) fn replace_static_member(
        &mut self,
        group_instance_id: &str,
        old_member_id: &str,
        new_member_id: &str,
    ) -> Option<Member> {
        let old = self.members.remove(old_member_id)?;
        let mut new = old.clone();
        new.member_id = new_member_id.to_owned();
        new.awaiting_join = None;
        new.awaiting_sync = None;
        self.members.insert(new_member_id.to_owned(), new);
        if self.is_leader(old_member_id) {
            self.leader = Some(new_member_id.to_owned());
        }
        if self.pending_sync_members.remove(old_member_id) {
            self.pending_sync_members.insert(new_member_id.to_owned());
        }
        self.static_members
            .insert(group_instance_id.to_owned(), new_member_id.to_owned());
        Some(old)
    }

    /// How many members have a JoinGroup parked.
    pub(crate) fn num_awaiting_join(&self) -> usize {
        self.members
            .values()
            .filter(|m| m.awaiting_join.is_some())
            .count()
    }

    /// Every member has rejoined and no pending member is still expected.
    pub(crate) fn has_all_members_joined(&self) -> bool {
        self.members.len() == self.num_awaiting_join() && self.pending_join_members.is_empty()
    }

    /// The group's rebalance timeout: the largest of its members'.
    pub(crate) fn rebalance_timeout_ms(&self) -> u64 {
        self.members
            .values()
            .map(|m| u64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    /// Whether a member with this protocol type and these protocols can be in
    /// the group: an Empty group takes any non-empty type and protocol list;
    /// otherwise the type must match and one protocol be supported by every member.
    pub(crate) fn supports_protocols(&self, protocol_type: &str, protocols: &[Protocol]) -> bool {
        if self.state == GroupState::Empty {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|p| self.members.values().all(|m| m.supports(&p.name)))
    }

    /// Chooses the protocol of the next generation: among the protocols every
    /// member supports, each member votes for its most preferred one, and the
    /// most votes win. Kafka breaks ties by hash order; here the smallest name
    /// wins, so every replica chooses the same.
    pub(crate) fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: BTreeSet<&str> = first
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .filter(|name| self.members.values().all(|m| m.supports(name)))
            .collect();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(choice) = member.vote(&candidates) {
                *votes.entry(choice).or_default() += 1;
            }
        }
        let most = votes.values().copied().max()?;
        votes
            .into_iter()
            .find(|(_, count)| *count == most)
            .map(|(name, _)| name.to_owned())
    }

    /// At the end of a join phase: keeps the leader if it rejoined, else makes
    /// the first rejoined member leader. False if nobody rejoined.
    pub(crate) fn maybe_elect_new_joined_leader(&mut self) -> bool {
        let Some(leader) = self.leader.as_deref() else {
            return false;
        };
        if self
            .members
            .get(leader)
            .is_some_and(|m| m.awaiting_join.is_some())
        {
            return true;
        }
        match self.members.values().find(|m| m.awaiting_join.is_some()) {
            Some(joined) => {
                self.leader = Some(joined.member_id.clone());
                true
            }
            None => false,
        }
    }

    /// Every member with its metadata for the chosen protocol, as the leader
    /// receives them.
    pub(crate) fn join_members(&self) -> Vec<JoinGroupMember> {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        self.members
            .values()
            .map(|m| JoinGroupMember {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                metadata: m.metadata(protocol).to_vec(),
            })
            .collect()
    }

    /// Checks a request's member id and instance id against the group:
    /// an instance id owned by another member id is fenced.
    pub(crate) fn validate_member(
        &self,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), CoordinatorError> {
        if let Some(instance) = group_instance_id {
            match self.static_members.get(instance) {
                None => return Err(self.unknown_member(member_id)),
                Some(owner) if owner != member_id => {
                    return Err(CoordinatorError::FencedInstanceId {
                        group_id: self.group_id.clone(),
                        group_instance_id: instance.to_owned(),
                        member_id: member_id.to_owned(),
                        owner: owner.clone(),
                    })
                }
                Some(_) => {}
            }
        }
        if !self.members.contains_key(member_id) {
            return Err(self.unknown_member(member_id));
        }
        Ok(())
    }

    pub(crate) fn unknown_member(&self, member_id: &str) -> CoordinatorError {
        CoordinatorError::UnknownMemberId {
            group_id: self.group_id.clone(),
            member_id: member_id.to_owned(),
        }
    }

    pub(crate) fn illegal_generation(&self, member_id: &str, requested: i32) -> CoordinatorError {
        CoordinatorError::IllegalGeneration {
            group_id: self.group_id.clone(),
            member_id: member_id.to_owned(),
            requested,
            current: self.generation_id,
        }
    }

    pub(crate) fn rebalance_in_progress(&self) -> CoordinatorError {
        CoordinatorError::RebalanceInProgress {
            group_id: self.group_id.clone(),
        }
    }

    /// Whether the group uses Kafka's consumer protocol.
    pub fn uses_consumer_protocol(&self) -> bool {
        self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE)
    }

    /// The topics the members subscribe to, when the group uses the consumer
    /// protocol and every member's metadata parses; `None` when unknown.
    pub(crate) fn compute_subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if !self.uses_consumer_protocol() {
            return None;
        }
        if self.members.is_empty() {
            return Some(BTreeSet::new());
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = BTreeSet::new();
        for member in self.members.values() {
            topics.extend(subscribed_topics(member.metadata(protocol))?);
        }
        Some(topics)
    }

    /// Whether the group reads `topic`. Unknown subscriptions count as
    /// subscribed for consumer groups (the safe answer for OffsetDelete).
    pub fn is_subscribed_to_topic(&self, topic: &str) -> bool {
        match &self.subscribed_topics {
            Some(topics) => topics.contains(topic),
            None => self.uses_consumer_protocol(),
        }
    }

    /// The record that persists the group as it is now.
    pub fn metadata_record(&self) -> GroupMetadataRecord {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        GroupMetadataRecord {
            group_id: self.group_id.clone(),
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone(),
            state_timestamp: self.state_timestamp,
            members: self
                .members
                .values()
                .map(|m| MemberRecord {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    subscription: m.metadata(protocol).to_vec(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }
}
