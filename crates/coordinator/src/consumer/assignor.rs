//! The server-side assignors: given every member's subscription, the
//! subscribed topics' partition counts and the previous target assignment,
//! the next target assignment. Pure and deterministic (members and topics
//! are visited in name order; ties break by the smallest member id).
//!
//! - `uniform` (Kafka's default): sticky and balanced. Every member keeps the
//!   partitions of its previous target that it may still read; the others go
//!   to the least loaded eligible member; then partitions move from the most
//!   loaded member to a less loaded eligible one while that narrows the gap
//!   by more than one. With identical subscriptions every member ends with
//!   ⌊P/N⌋ or ⌈P/N⌉ partitions, and a joining member takes partitions only
//!   from the most loaded members.
//! - `range`: per topic, its subscribers sorted by instance id (else member
//!   id) get consecutive ranges, the first `P mod N` one partition more, so
//!   members subscribed to co-partitioned topics read the same partition
//!   numbers of each.

use std::collections::{BTreeMap, BTreeSet};

use super::assignment::{Assignment, TopicId, TopicInfo};
use super::config::RANGE_ASSIGNOR;

/// What an assignor needs to know about one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    /// The topic names it reads (names and regex matches).
    pub topics: BTreeSet<String>,
    /// Its `group.instance.id`, for a static member.
    pub instance_id: Option<String>,
}

/// The input of an assignor.
#[derive(Debug, Clone, Copy)]
pub struct AssignmentSpec<'a> {
    /// Every member, by member id.
    pub members: &'a BTreeMap<String, MemberSpec>,
    /// Every subscribed topic that exists, by name.
    pub topics: &'a BTreeMap<String, TopicInfo>,
    /// The previous target assignment, by member id.
    pub previous: &'a BTreeMap<String, Assignment>,
}

/// Runs the assignor `name` (`uniform` for any name but `range`: the
/// coordinator checked the name when the member sent it).
pub fn assign(name: &str, spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    if name == RANGE_ASSIGNOR {
        range(spec)
    } else {
        uniform(spec)
    }
}

/// Every partition of the subscribed topics, in (name, partition) order,
/// with the topic's name.
fn all_partitions<'a>(
    topics: &'a BTreeMap<String, TopicInfo>,
) -> impl Iterator<Item = (&'a str, TopicId, i32)> + 'a {
    topics.iter().flat_map(|(name, info)| {
        let count = i32::try_from(info.partitions).unwrap_or(i32::MAX);
        (0..count).map(move |p| (name.as_str(), info.id, p))
    })
}

/// The `uniform` assignor (see the module documentation).
pub fn uniform(spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let names: BTreeMap<TopicId, &str> = spec
        .topics
        .iter()
        .map(|(name, info)| (info.id, name.as_str()))
        .collect();
    let may_read = |member: &str, topic: TopicId| {
        names
            .get(&topic)
            .is_some_and(|name| spec.members[member].topics.contains(*name))
    };
    let mut result: BTreeMap<String, Assignment> = spec
        .members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    let mut taken = Assignment::new();

    // Stickiness: keep what is still valid.
    for (member, previous) in spec.previous {
        if !spec.members.contains_key(member) {
            continue;
        }
        for (topic, partition) in previous.iter() {
            let exists = names.get(&topic).is_some_and(|name| {
                u32::try_from(partition).is_ok_and(|p| p < spec.topics[*name].partitions)
            });
            if exists && may_read(member, topic) && taken.insert(topic, partition) {
                result
                    .entry(member.clone())
                    .or_default()
                    .insert(topic, partition);
            }
        }
    }

    // The rest to the least loaded member that reads the topic.
    for (name, topic, partition) in all_partitions(spec.topics) {
        if taken.contains(topic, partition) {
            continue;
        }
        let least = result
            .iter()
            .filter(|(member, _)| spec.members[member.as_str()].topics.contains(name))
            .min_by_key(|(member, assigned)| (assigned.len(), member.as_str()))
            .map(|(member, _)| member.clone());
        if let Some(member) = least {
            taken.insert(topic, partition);
            result.entry(member).or_default().insert(topic, partition);
        }
    }

    // Balance: move partitions off the most loaded members.
    while let Some((from, to, topic, partition)) = find_move(&result, &may_read) {
        result.entry(from).or_default().remove(topic, partition);
        result.entry(to).or_default().insert(topic, partition);
    }
    result
}

/// One move that narrows the load gap: from the most loaded member that has
/// a partition some member with at least two fewer partitions may read, its
/// last such partition, to the least loaded such member.
fn find_move(
    result: &BTreeMap<String, Assignment>,
    may_read: &impl Fn(&str, TopicId) -> bool,
) -> Option<(String, String, TopicId, i32)> {
    let mut by_load: Vec<(&String, usize)> = result.iter().map(|(m, a)| (m, a.len())).collect();
    by_load.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let ascending: Vec<(&String, usize)> = by_load.iter().rev().copied().collect();
    for &(from, load) in &by_load {
        let partitions: Vec<(TopicId, i32)> = result[from].iter().collect();
        for &(topic, partition) in partitions.iter().rev() {
            let to = ascending
                .iter()
                .filter(|(m, l)| *m != from && l + 1 < load && may_read(m, topic))
                .min_by_key(|(m, l)| (*l, m.as_str()));
            if let Some((to, _)) = to {
                return Some((from.clone(), (*to).clone(), topic, partition));
            }
        }
    }
    None
}

/// The `range` assignor (see the module documentation).
pub fn range(spec: AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let mut result: BTreeMap<String, Assignment> = spec
        .members
        .keys()
        .map(|m| (m.clone(), Assignment::new()))
        .collect();
    for (name, info) in spec.topics {
        let mut readers: Vec<(&str, &str)> = spec
            .members
            .iter()
            .filter(|(_, m)| m.topics.contains(name))
            .map(|(id, m)| (m.instance_id.as_deref().unwrap_or(id), id.as_str()))
            .collect();
        if readers.is_empty() {
            continue;
        }
        readers.sort();
        let count = i32::try_from(info.partitions).unwrap_or(i32::MAX);
        let n = i32::try_from(readers.len()).unwrap_or(i32::MAX);
        let (each, extra) = (count / n, count % n);
        for (i, (_, member)) in (0..).zip(readers) {
            let start = i * each + i.min(extra);
            let len = each + i32::from(i < extra);
            let assigned = result.entry(member.to_owned()).or_default();
            for partition in start..start + len {
                assigned.insert(info.id, partition);
            }
        }
    }
    result
}
