//! Replica moves (Kafka's partition reassignments): the catalogue's side.
//!
//! A move is recorded as a [`Reassignment`] of the partition's group; the
//! partition's `replicas` stay what they were until the move completes. The
//! partition's Raft leader carries it out as membership changes (the new
//! replicas join as learners, catch up, then the voter set switches by joint
//! consensus; see the broker's `reassign` module), and the controller
//! records the end with [`crate::MetaCommand::CompleteReassignment`]. Until
//! then every broker [`Reassignment::involved`] keeps running the group,
//! since the Raft membership may include any of them; afterwards the
//! brokers that are not replicas delete their copy.
//!
//! A cancel (Kafka: a reassignment with null replicas) moves the partition
//! back to its replicas the same way; redirecting a move to another target
//! is allowed at any time.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use cairn_common::GroupId;

use crate::state::{MetaError, MetaErrorCode, MetaState, PartitionAssignment, Topic};

/// A replica move in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassignment {
    /// The replicas the partition moves to; the first is the preferred leader.
    pub target: Vec<u64>,
    /// Every broker that was a replica or a target since the move began:
    /// each keeps the group until the move completes.
    pub involved: BTreeSet<u64>,
    /// When the move began (ms since the Unix epoch, the controller's clock).
    pub started_at_ms: u64,
}

/// A move as Kafka's ListPartitionReassignments describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveView {
    /// Target replicas first, then those being removed.
    pub replicas: Vec<u64>,
    /// Target replicas that are not replicas yet.
    pub adding: Vec<u64>,
    /// Replicas that are not in the target.
    pub removing: Vec<u64>,
}

/// How `replicas` moving to `target` looks to Kafka's clients.
pub fn move_view(replicas: &[u64], target: &[u64]) -> MoveView {
    let removing: Vec<u64> = replicas
        .iter()
        .copied()
        .filter(|r| !target.contains(r))
        .collect();
    MoveView {
        replicas: target
            .iter()
            .copied()
            .chain(removing.iter().copied())
            .collect(),
        adding: target
            .iter()
            .copied()
            .filter(|t| !replicas.contains(t))
            .collect(),
        removing,
    }
}

/// Checks a target replica list: not empty, no broker twice, every broker
/// registered.
pub fn validate_target(state: &MetaState, target: &[u64]) -> Result<(), MetaError> {
    if target.is_empty() {
        return Err(MetaError::new(
            MetaErrorCode::InvalidReplicaAssignment,
            "a partition needs at least one replica",
        ));
    }
    let mut seen = BTreeSet::new();
    if let Some(twice) = target.iter().find(|b| !seen.insert(**b)) {
        return Err(MetaError::new(
            MetaErrorCode::InvalidReplicaAssignment,
            format!("broker {twice} appears twice in replicas {target:?}"),
        ));
    }
    if let Some(unknown) = target.iter().find(|b| !state.brokers.contains_key(b)) {
        return Err(MetaError::new(
            MetaErrorCode::UnknownBroker,
            format!("broker {unknown} is not registered"),
        ));
    }
    Ok(())
}

impl MetaState {
    /// The partition replicated by `group`, mutable.
    fn partition_mut(&mut self, group: GroupId) -> Option<(&mut Topic, usize)> {
        self.topics.values_mut().find_map(|t| {
            let i = t.partitions.iter().position(|p| p.group == group)?;
            Some((t, i))
        })
    }

    /// Applies [`crate::MetaCommand::Reassign`].
    pub(crate) fn reassign(
        &mut self,
        group: GroupId,
        target: Option<&[u64]>,
        now_ms: u64,
    ) -> Result<(), MetaError> {
        let Some((_, p)) = self.partition_of_group(group) else {
            return Err(MetaError::new(
                MetaErrorCode::UnknownTopic,
                format!("no partition has group {group}"),
            ));
        };
        let replicas = p.replicas.clone();
        let target = match target {
            Some(target) => {
                validate_target(self, target)?;
                target.to_vec()
            }
            None if self.reassignments.contains_key(&group) => replicas.clone(),
            None => {
                return Err(MetaError::new(
                    MetaErrorCode::NoReassignmentInProgress,
                    "the partition is not being moved",
                ))
            }
        };
        match self.reassignments.get_mut(&group) {
            Some(moving) => {
                moving.involved.extend(target.iter().copied());
                moving.target = target;
            }
            // Already there: nothing moves (the order, and so the preferred
            // leader, may still change).
            None if same_set(&replicas, &target) => {
                if let Some((topic, i)) = self.partition_mut(group) {
                    topic.partitions[i].replicas = target;
                }
            }
            None => {
                let involved = replicas.iter().chain(&target).copied().collect();
                self.reassignments.insert(
                    group,
                    Reassignment {
                        target,
                        involved,
                        started_at_ms: now_ms,
                    },
                );
            }
        }
        Ok(())
    }

    /// Applies [`crate::MetaCommand::CompleteReassignment`].
    pub(crate) fn complete_reassignment(&mut self, group: GroupId, target: &[u64]) {
        if self
            .reassignments
            .get(&group)
            .is_none_or(|m| m.target != target)
        {
            return;
        }
        self.reassignments.remove(&group);
        if let Some((topic, i)) = self.partition_mut(group) {
            topic.partitions[i].replicas = target.to_vec();
            // A move may change a partition's replica count; the topic's
            // factor follows once its partitions agree.
            let counts: BTreeSet<usize> =
                topic.partitions.iter().map(|p| p.replicas.len()).collect();
            if let [count] = counts.into_iter().collect::<Vec<_>>()[..] {
                topic.replication_factor = count as u32;
            }
        }
    }

    /// Every partition group broker `broker` should run: those it is a
    /// replica of, and those it is involved in moving.
    pub fn hosted_on(&self, broker: u64) -> Vec<(&Topic, &PartitionAssignment)> {
        self.topics
            .values()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .filter(|(_, p)| {
                p.replicas.contains(&broker)
                    || self
                        .reassignments
                        .get(&p.group)
                        .is_some_and(|m| m.involved.contains(&broker))
            })
            .collect()
    }

    /// Applies [`crate::MetaCommand::Recommission`]: `broker` no longer
    /// drains, and each move taking one of its replicas away moves back.
    pub(crate) fn recommission(&mut self, broker: u64) {
        self.decommissioning.remove(&broker);
        let replicas: BTreeMap<GroupId, Vec<u64>> = self
            .topics
            .values()
            .flat_map(|t| t.partitions.iter())
            .map(|p| (p.group, p.replicas.clone()))
            .collect();
        for (group, moving) in self.reassignments.iter_mut() {
            let Some(replicas) = replicas.get(group) else {
                continue;
            };
            if replicas.contains(&broker) && !moving.target.contains(&broker) {
                moving.target = replicas.clone();
            }
        }
    }

    /// Applies [`crate::MetaCommand::UnregisterBroker`].
    pub(crate) fn unregister(&mut self, broker: u64) -> Result<(), MetaError> {
        let held = self.hosted_on(broker).len();
        if held > 0 {
            return Err(MetaError::new(
                MetaErrorCode::InvalidReplicaAssignment,
                format!("broker {broker} still holds {held} replicas"),
            ));
        }
        self.decommissioning.remove(&broker);
        self.brokers.remove(&broker);
        Ok(())
    }

    /// Moves in progress with their topic and partition, by topic and partition.
    pub fn moves(&self) -> BTreeMap<(String, u32), (&PartitionAssignment, &Reassignment)> {
        self.topics
            .values()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .filter_map(|(t, p)| {
                let m = self.reassignments.get(&p.group)?;
                Some(((t.name.clone(), p.partition), (p, m)))
            })
            .collect()
    }
}

/// The next moves that drain decommissioning brokers, so that no more
/// than `limit` moves are in progress in all: for each replica on a
/// draining broker whose partition is not moving, the partition with that
/// replica replaced (see [`crate::spread::replacement`]). Replicas with no
/// replacement stay (the decommission waits for a broker to join).
pub fn drain_moves(state: &MetaState, limit: usize) -> Vec<(GroupId, Vec<u64>)> {
    let room = limit.saturating_sub(state.reassignments.len());
    if room == 0 || state.decommissioning.is_empty() {
        return Vec::new();
    }
    let candidates = crate::controller::placement_candidates(state);
    let partitions: Vec<(GroupId, Vec<u64>)> = state
        .topics
        .values()
        .flat_map(|t| t.partitions.iter())
        .map(|p| (p.group, p.replicas.clone()))
        .collect();
    let mut load = crate::spread::load(&partitions, &candidates);
    let mut moves = Vec::new();
    for (group, replicas) in &partitions {
        if moves.len() >= room {
            break;
        }
        if state.reassignments.contains_key(group) {
            continue;
        }
        let Some(&leaving) = replicas.iter().find(|r| state.decommissioning.contains(r)) else {
            continue;
        };
        if let Some(by) = crate::spread::replacement(&candidates, replicas, leaving, &load) {
            *load.entry(by).or_default() += 1;
            moves.push((*group, crate::spread::replaced(replicas, leaving, by)));
        }
    }
    moves
}

/// Decommissioning brokers that hold nothing any more, ready to unregister.
pub fn drained(state: &MetaState) -> Vec<u64> {
    state
        .decommissioning
        .iter()
        .copied()
        .filter(|b| state.hosted_on(*b).is_empty())
        .collect()
}

fn same_set(a: &[u64], b: &[u64]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{BrokerRegistration, MetaCommand, MetaResponse};
    use cairn_common::Machine;
    use openraft::{CommittedLeaderId, LogId};

    fn log_id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(1, 1), index)
    }

    fn state() -> MetaState {
        let mut s = MetaState::default();
        for id in 1..=5 {
            s.apply(
                &log_id(id),
                &MetaCommand::RegisterBroker {
                    registration: BrokerRegistration {
                        id,
                        raft_addr: format!("h:{id}"),
                        kafka_addr: format!("h:{id}"),
                        admin_addr: format!("h:{id}"),
                        rack: None,
                    },
                    now_ms: 1,
                },
            );
        }
        let created = s.apply(
            &log_id(10),
            &MetaCommand::CreateTopic {
                name: "t".into(),
                replication_factor: 3,
                configs: BTreeMap::new(),
                assignment: vec![vec![1, 2, 3], vec![2, 3, 1]],
                now_ms: 2,
            },
        );
        assert!(matches!(created, MetaResponse::TopicCreated(_)));
        s
    }

    fn reassign(s: &mut MetaState, target: Option<Vec<u64>>) -> MetaResponse {
        s.apply(
            &log_id(20),
            &MetaCommand::Reassign {
                group: 1,
                target,
                now_ms: 5,
            },
        )
    }

    fn hosts(s: &MetaState, broker: u64) -> Vec<GroupId> {
        s.hosted_on(broker).iter().map(|(_, p)| p.group).collect()
    }

    #[test]
    fn a_move_keeps_every_involved_broker_until_it_completes() {
        let mut s = state();
        assert_eq!(reassign(&mut s, Some(vec![2, 3, 4])), MetaResponse::Ok);
        assert_eq!(s.topics["t"].partitions[0].replicas, vec![1, 2, 3]);
        assert_eq!(hosts(&s, 4), vec![1]);
        assert_eq!(hosts(&s, 1), vec![1, 2]);
        let view = move_view(&[1, 2, 3], &s.reassignments[&1].target);
        assert_eq!(view.replicas, vec![2, 3, 4, 1]);
        assert_eq!((view.adding, view.removing), (vec![4], vec![1]));
        // Redirected to 5: 4 stays involved (it may be a voter already).
        reassign(&mut s, Some(vec![2, 3, 5]));
        assert_eq!(hosts(&s, 4), vec![1]);
        assert_eq!(hosts(&s, 5), vec![1]);
        // Completing a target that is not the current one changes nothing.
        s.apply(
            &log_id(30),
            &MetaCommand::CompleteReassignment {
                group: 1,
                target: vec![2, 3, 4],
            },
        );
        assert!(s.reassignments.contains_key(&1));
        s.apply(
            &log_id(31),
            &MetaCommand::CompleteReassignment {
                group: 1,
                target: vec![2, 3, 5],
            },
        );
        assert!(s.reassignments.is_empty());
        assert_eq!(s.topics["t"].partitions[0].replicas, vec![2, 3, 5]);
        assert_eq!(hosts(&s, 1), vec![2]);
        assert!(hosts(&s, 4).is_empty());
    }

    #[test]
    fn a_cancel_moves_back_and_needs_a_move() {
        let mut s = state();
        assert!(matches!(
            reassign(&mut s, None),
            MetaResponse::Rejected(MetaError {
                code: MetaErrorCode::NoReassignmentInProgress,
                ..
            })
        ));
        reassign(&mut s, Some(vec![4, 5, 1]));
        reassign(&mut s, None);
        assert_eq!(s.reassignments[&1].target, vec![1, 2, 3]);
        assert_eq!(
            s.reassignments[&1].involved,
            BTreeSet::from([1, 2, 3, 4, 5])
        );
    }

    #[test]
    fn bad_targets_are_refused_and_a_reorder_applies_at_once() {
        let mut s = state();
        for (target, code) in [
            (vec![], MetaErrorCode::InvalidReplicaAssignment),
            (vec![1, 1, 2], MetaErrorCode::InvalidReplicaAssignment),
            (vec![1, 2, 9], MetaErrorCode::UnknownBroker),
        ] {
            match reassign(&mut s, Some(target.clone())) {
                MetaResponse::Rejected(e) => assert_eq!(e.code, code, "{target:?}"),
                other => panic!("{target:?}: {other:?}"),
            }
        }
        reassign(&mut s, Some(vec![3, 1, 2]));
        assert!(s.reassignments.is_empty());
        assert_eq!(s.topics["t"].partitions[0].replicas, vec![3, 1, 2]);
        let unknown = s.apply(
            &log_id(40),
            &MetaCommand::Reassign {
                group: 77,
                target: Some(vec![1]),
                now_ms: 1,
            },
        );
        assert!(matches!(unknown, MetaResponse::Rejected(_)));
    }

    #[test]
    fn a_move_that_changes_the_replica_count_changes_the_factor_once_all_agree() {
        let mut s = state();
        reassign(&mut s, Some(vec![1, 2]));
        s.complete_reassignment(1, &[1, 2]);
        assert_eq!(s.topics["t"].replication_factor, 3, "partition 1 has 3");
        s.reassign(2, Some(&[2, 3]), 1).unwrap();
        s.complete_reassignment(2, &[2, 3]);
        assert_eq!(s.topics["t"].replication_factor, 2);
    }

    #[test]
    fn a_draining_broker_gets_its_replicas_moved_a_few_at_a_time_then_leaves() {
        let mut s = state();
        s.apply(&log_id(60), &MetaCommand::Decommission { broker: 1 });
        // Both partitions have broker 1; brokers 4 and 5 are free.
        let moves = drain_moves(&s, 1);
        assert_eq!(moves.len(), 1, "bounded by the limit");
        let moves = drain_moves(&s, 8);
        assert_eq!(moves.len(), 2);
        for (group, target) in &moves {
            assert!(!target.contains(&1), "{target:?}");
            s.reassign(*group, Some(target), 1).unwrap();
        }
        assert!(drain_moves(&s, 8).is_empty(), "both are moving already");
        assert!(drained(&s).is_empty());
        // New topics avoid the draining broker.
        assert!(!crate::controller::placement_candidates(&s)
            .iter()
            .any(|c| c.id == 1));
        for (group, target) in &moves {
            s.complete_reassignment(*group, target);
        }
        assert_eq!(drained(&s), vec![1]);
        assert_eq!(
            s.apply(&log_id(61), &MetaCommand::UnregisterBroker { broker: 1 }),
            MetaResponse::Ok
        );
        assert!(!s.brokers.contains_key(&1) && s.decommissioning.is_empty());
        // A broker that holds replicas cannot be unregistered.
        assert!(matches!(
            s.apply(&log_id(62), &MetaCommand::UnregisterBroker { broker: 2 }),
            MetaResponse::Rejected(_)
        ));
    }

    #[test]
    fn recommissioning_moves_its_replicas_back() {
        let mut s = state();
        s.apply(&log_id(60), &MetaCommand::Decommission { broker: 1 });
        for (group, target) in drain_moves(&s, 8) {
            s.reassign(group, Some(&target), 1).unwrap();
        }
        s.apply(&log_id(61), &MetaCommand::Recommission { broker: 1 });
        assert!(s.decommissioning.is_empty());
        for (group, m) in &s.reassignments {
            let (_, p) = s.partition_of_group(*group).unwrap();
            assert_eq!(m.target, p.replicas, "moves back");
        }
    }

    #[test]
    fn deleting_a_topic_ends_its_moves() {
        let mut s = state();
        reassign(&mut s, Some(vec![2, 3, 4]));
        s.apply(&log_id(50), &MetaCommand::DeleteTopic { name: "t".into() });
        assert!(s.reassignments.is_empty());
    }

    #[test]
    fn a_snapshot_from_before_moves_still_opens() {
        /// MetaState as it was stored before moves existed.
        #[derive(Serialize)]
        struct Before {
            brokers: BTreeMap<u64, crate::state::BrokerRecord>,
            topics: BTreeMap<String, Topic>,
            next_group_id: GroupId,
        }
        let s = state();
        let old = bincode::serialize(&Before {
            brokers: s.brokers.clone(),
            topics: s.topics.clone(),
            next_group_id: s.next_group_id,
        })
        .unwrap();
        let read: MetaState = bincode::deserialize(&old).unwrap();
        assert_eq!(read, s);
        let mut moving = s.clone();
        reassign(&mut moving, Some(vec![2, 3, 4]));
        let new = bincode::serialize(&moving).unwrap();
        assert_eq!(bincode::deserialize::<MetaState>(&new).unwrap(), moving);
    }
}
