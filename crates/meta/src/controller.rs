//! The controller's decisions, free of IO: requests and observations in,
//! metadata commands out. The broker runs these on the metadata leader and
//! proposes what they return.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::placement::{assign_replicas, Candidate, PlacementError};
use crate::state::{BrokerRegistration, MetaCommand, MetaError, MetaErrorCode, MetaState};
use crate::topic_config::{validate_configs, validate_topic_name};

/// A request that only the controller can turn into a command (it needs the
/// controller's view of live brokers), forwarded to it from any broker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// A broker announces itself at start.
    Register(BrokerRegistration),
    /// Create a topic, placing its replicas on live brokers.
    CreateTopic {
        name: String,
        partitions: u32,
        replication_factor: u32,
        configs: BTreeMap<String, String>,
        /// Only check that the topic could be created; change nothing.
        validate_only: bool,
    },
    /// Delete a topic.
    DeleteTopic { name: String },
    /// Change a topic's config overrides.
    AlterTopicConfigs {
        name: String,
        change: crate::state::ConfigChange,
        /// Only check that the change is valid.
        validate_only: bool,
    },
    /// Grow a topic to `total` partitions.
    CreatePartitions {
        name: String,
        total: u32,
        /// Only check that the partitions could be added.
        validate_only: bool,
    },
    /// A block of idempotent producer ids for `broker`.
    AllocateProducerIds { broker: u64 },
    /// Create a topic with the replicas the client chose: one broker list per
    /// partition, in partition order, the first broker the preferred leader.
    CreateTopicAssigned {
        name: String,
        assignment: Vec<Vec<u64>>,
        configs: BTreeMap<String, String>,
        /// Only check that the topic could be created; change nothing.
        validate_only: bool,
    },
    /// Grow a topic to `total` partitions with the replicas the client
    /// chose: one broker list per new partition.
    CreatePartitionsAssigned {
        name: String,
        total: u32,
        assignment: Vec<Vec<u64>>,
        /// Only check that the partitions could be added.
        validate_only: bool,
    },
    /// The metadata group's leader, term and each member's progress, as the
    /// controller (its leader) sees them (Kafka's DescribeQuorum). Changes
    /// nothing.
    DescribeQuorum,
    /// Drain a broker of its replicas, then unregister it.
    Decommission { broker: u64 },
    /// Make a caught-up metadata learner a voter of the metadata group.
    AddVoter { broker: u64 },
    /// Make a metadata voter a learner.
    RemoveVoter { broker: u64 },
    /// Stop draining a broker.
    Recommission { broker: u64 },
    /// Move a partition to the replicas `replicas` (the first the
    /// preferred leader), or cancel its move (`None`).
    Reassign {
        topic: String,
        partition: u32,
        replicas: Option<Vec<u64>>,
        /// Only check that the move could start.
        validate_only: bool,
    },
}

/// The metadata group as its leader sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumDescription {
    /// The leader (the controller).
    pub leader: u64,
    /// Its term.
    pub term: u64,
    /// The index after the last entry the leader applied.
    pub high_watermark: u64,
    /// The voters, each with the index after the last entry it holds as far
    /// as the leader knows (`None`: nothing replicated to it yet).
    pub voters: Vec<(u64, Option<u64>)>,
    /// The members that replicate without voting (learners), likewise.
    pub observers: Vec<(u64, Option<u64>)>,
}

/// What every topic creation checks first: a valid name not yet taken, and
/// valid configs.
fn check_new_topic(
    state: &MetaState,
    name: &str,
    configs: &BTreeMap<String, String>,
) -> Result<(), MetaError> {
    validate_topic_name(name).map_err(|m| MetaError::new(MetaErrorCode::InvalidTopicName, m))?;
    if state.topics.contains_key(name) {
        return Err(MetaError::new(
            MetaErrorCode::TopicAlreadyExists,
            format!("topic '{name}' already exists"),
        ));
    }
    validate_configs(configs).map_err(|m| MetaError::new(MetaErrorCode::InvalidConfig, m))
}

/// The topic `name` that is to grow to `total` partitions, with its current
/// count; an unknown topic or a count that does not grow is refused.
fn topic_to_grow<'a>(
    state: &'a MetaState,
    name: &str,
    total: u32,
) -> Result<(&'a crate::state::Topic, u32), MetaError> {
    let topic = state.topics.get(name).ok_or_else(|| {
        MetaError::new(
            MetaErrorCode::UnknownTopic,
            format!("topic '{name}' does not exist"),
        )
    })?;
    let current = topic.partitions.len() as u32;
    if total <= current {
        return Err(MetaError::new(
            MetaErrorCode::InvalidPartitions,
            format!("topic '{name}' has {current} partitions; the count can only grow (asked for {total})"),
        ));
    }
    Ok((topic, current))
}

/// The command that starts (or cancels) moving `topic`'s `partition` to
/// `replicas`: an unknown topic or partition, a bad target, or a cancel
/// without a move is refused here, before anything is proposed.
pub fn plan_reassign(
    state: &MetaState,
    topic: &str,
    partition: u32,
    replicas: Option<Vec<u64>>,
    now_ms: u64,
) -> Result<MetaCommand, MetaError> {
    let t = state.topics.get(topic).ok_or_else(|| {
        MetaError::new(
            MetaErrorCode::UnknownTopic,
            format!("topic '{topic}' does not exist"),
        )
    })?;
    let p = t.partitions.get(partition as usize).ok_or_else(|| {
        MetaError::new(
            MetaErrorCode::UnknownTopic,
            format!("topic '{topic}' has no partition {partition}"),
        )
    })?;
    match &replicas {
        Some(target) => crate::reassign::validate_target(state, target)
            .map_err(|e| MetaError::new(e.code, format!("{topic}-{partition}: {}", e.message)))?,
        None if !state.reassignments.contains_key(&p.group) => {
            return Err(MetaError::new(
                MetaErrorCode::NoReassignmentInProgress,
                format!("{topic}-{partition} is not being moved"),
            ))
        }
        None => {}
    }
    Ok(MetaCommand::Reassign {
        group: p.group,
        target: replicas,
        now_ms,
    })
}

/// The command that starts decommissioning `broker`: it must be registered,
/// not a voter of the metadata group (`voters`), and every partition on it
/// must have another broker to move to.
pub fn plan_decommission(
    state: &MetaState,
    broker: u64,
    voters: &BTreeSet<u64>,
) -> Result<MetaCommand, MetaError> {
    if !state.brokers.contains_key(&broker) {
        return Err(MetaError::new(
            MetaErrorCode::UnknownBroker,
            format!("broker {broker} is not registered"),
        ));
    }
    if voters.contains(&broker) {
        return Err(MetaError::new(
            MetaErrorCode::InvalidRequest,
            format!("broker {broker} is a controller voter; remove it first (cairn controller remove-voter {broker})"),
        ));
    }
    let candidates: Vec<Candidate> = placement_candidates(state)
        .into_iter()
        .filter(|c| c.id != broker)
        .collect();
    let load = std::collections::BTreeMap::new();
    for (topic, p) in state.replicas_on(broker) {
        if crate::spread::replacement(&candidates, &p.replicas, broker, &load).is_none() {
            return Err(MetaError::new(
                MetaErrorCode::InvalidReplicationFactor,
                format!(
                    "broker {broker} cannot be decommissioned: {}-{} (replicas {:?}) has no other live broker to move to",
                    topic.name, p.partition, p.replicas
                ),
            ));
        }
    }
    Ok(MetaCommand::Decommission { broker })
}

/// Checks a manual replica assignment: at least one partition, the same
/// number of replicas (at least one) in every partition, no broker twice in
/// one partition, every broker registered (live or not, as Kafka allows).
/// Returns the replication factor.
pub fn validate_assignment(
    state: &MetaState,
    name: &str,
    assignment: &[Vec<u64>],
) -> Result<u32, MetaError> {
    let invalid = |m: String| MetaError::new(MetaErrorCode::InvalidReplicaAssignment, m);
    let Some(first) = assignment.first() else {
        return Err(MetaError::new(
            MetaErrorCode::InvalidPartitions,
            format!("topic '{name}': the replica assignment names no partition"),
        ));
    };
    let rf = first.len();
    for (p, replicas) in assignment.iter().enumerate() {
        if replicas.is_empty() {
            return Err(invalid(format!(
                "topic '{name}': partition {p} has no replicas"
            )));
        }
        if replicas.len() != rf {
            return Err(invalid(format!(
                "topic '{name}': partition {p} has {} replicas and partition 0 has {rf}; a topic has one replication factor",
                replicas.len()
            )));
        }
        let distinct: BTreeSet<u64> = replicas.iter().copied().collect();
        if distinct.len() != replicas.len() {
            return Err(invalid(format!(
                "topic '{name}': partition {p} names a broker twice ({replicas:?})"
            )));
        }
        if let Some(unknown) = replicas.iter().find(|b| !state.brokers.contains_key(b)) {
            return Err(invalid(format!(
                "topic '{name}': partition {p} names broker {unknown}, which is not registered"
            )));
        }
    }
    Ok(rf as u32)
}

/// Plans a topic creation with a manual replica assignment.
pub fn plan_create_topic_assigned(
    state: &MetaState,
    name: &str,
    assignment: &[Vec<u64>],
    configs: &BTreeMap<String, String>,
    now_ms: u64,
) -> Result<MetaCommand, MetaError> {
    check_new_topic(state, name, configs)?;
    let replication_factor = validate_assignment(state, name, assignment)?;
    Ok(MetaCommand::CreateTopic {
        name: name.to_string(),
        replication_factor,
        configs: configs.clone(),
        assignment: assignment.to_vec(),
        now_ms,
    })
}

/// Plans growing `name` to `total` partitions with a manual replica
/// assignment of the new ones: one list per new partition, each with the
/// topic's replication factor.
pub fn plan_add_partitions_assigned(
    state: &MetaState,
    name: &str,
    total: u32,
    assignment: &[Vec<u64>],
) -> Result<MetaCommand, MetaError> {
    let (topic, current) = topic_to_grow(state, name, total)?;
    if assignment.len() as u32 != total - current {
        return Err(MetaError::new(
            MetaErrorCode::InvalidReplicaAssignment,
            format!(
                "topic '{name}' grows from {current} to {total} partitions, so it needs {} replica lists, not {}",
                total - current,
                assignment.len()
            ),
        ));
    }
    let rf = validate_assignment(state, name, assignment)?;
    if rf != topic.replication_factor {
        return Err(MetaError::new(
            MetaErrorCode::InvalidReplicaAssignment,
            format!(
                "topic '{name}' has replication factor {}; the new partitions have {rf} replicas",
                topic.replication_factor
            ),
        ));
    }
    Ok(MetaCommand::AddPartitions {
        name: name.to_string(),
        assignment: assignment.to_vec(),
    })
}

/// Plans growing `name` to `total` partitions on the live brokers; new
/// preferred leaders continue the rotation after the existing partitions.
pub fn plan_add_partitions(
    state: &MetaState,
    name: &str,
    total: u32,
    start: usize,
) -> Result<MetaCommand, MetaError> {
    let (topic, current) = topic_to_grow(state, name, total)?;
    let candidates = placement_candidates(state);
    let assignment = assign_replicas(
        &candidates,
        total - current,
        topic.replication_factor,
        start + current as usize,
    )
    .map_err(|e| {
        MetaError::new(
            MetaErrorCode::InvalidReplicationFactor,
            format!("topic '{name}': {e}"),
        )
    })?;
    Ok(MetaCommand::AddPartitions {
        name: name.to_string(),
        assignment,
    })
}

/// Live (unfenced) brokers that are not being decommissioned, as
/// placement candidates.
pub fn placement_candidates(state: &MetaState) -> Vec<Candidate> {
    state
        .live_brokers()
        .filter(|b| !state.decommissioning.contains(&b.registration.id))
        .map(|b| Candidate {
            id: b.registration.id,
            rack: b.registration.rack.clone(),
        })
        .collect()
}

/// Plans a topic creation: validates the request and places replicas on the
/// live (unfenced) brokers. `start` rotates the first preferred leader.
pub fn plan_create_topic(
    state: &MetaState,
    name: &str,
    partitions: u32,
    replication_factor: u32,
    configs: &BTreeMap<String, String>,
    start: usize,
    now_ms: u64,
) -> Result<MetaCommand, MetaError> {
    check_new_topic(state, name, configs)?;
    let candidates = placement_candidates(state);
    let assignment = assign_replicas(&candidates, partitions, replication_factor, start).map_err(
        |e| match e {
            PlacementError::ZeroPartitions => MetaError::new(
                MetaErrorCode::InvalidPartitions,
                format!("topic '{name}': partition count must be at least 1"),
            ),
            e => MetaError::new(
                MetaErrorCode::InvalidReplicationFactor,
                format!("topic '{name}': {e}"),
            ),
        },
    )?;
    Ok(MetaCommand::CreateTopic {
        name: name.to_string(),
        replication_factor,
        configs: configs.clone(),
        assignment,
        now_ms,
    })
}

/// Fences brokers not heard from within `session_timeout_ms` and unfences
/// fenced brokers that are heard from again.
///
/// `last_heard` holds, per broker, when the controller last received its
/// heartbeat; `leader_since_ms` is when this controller took office: a broker
/// it has not heard from yet is given a full session from then before fencing.
pub fn liveness_changes(
    state: &MetaState,
    last_heard: &BTreeMap<u64, u64>,
    now_ms: u64,
    session_timeout_ms: u64,
    leader_since_ms: u64,
) -> Vec<MetaCommand> {
    state
        .brokers
        .values()
        .filter_map(|b| {
            let id = b.registration.id;
            let heard = last_heard
                .get(&id)
                .copied()
                .unwrap_or(0)
                .max(leader_since_ms);
            let alive = now_ms.saturating_sub(heard) < session_timeout_ms;
            let heard_recently = last_heard
                .get(&id)
                .is_some_and(|&t| now_ms.saturating_sub(t) < session_timeout_ms);
            if b.fenced && heard_recently {
                Some(MetaCommand::SetBrokerFenced {
                    id,
                    fenced: false,
                    now_ms,
                })
            } else if !b.fenced && !alive {
                Some(MetaCommand::SetBrokerFenced {
                    id,
                    fenced: true,
                    now_ms,
                })
            } else {
                None
            }
        })
        .collect()
}

/// Registered brokers that are not yet members of the metadata group, with
/// their Raft addresses: the controller adds them as learners.
pub fn learners_to_add(state: &MetaState, members: &BTreeSet<u64>) -> Vec<(u64, String)> {
    state
        .brokers
        .values()
        .filter(|b| !members.contains(&b.registration.id))
        .map(|b| (b.registration.id, b.registration.raft_addr.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::BrokerRecord;

    fn state(brokers: &[(u64, bool)]) -> MetaState {
        let mut s = MetaState::default();
        for &(id, fenced) in brokers {
            s.brokers.insert(
                id,
                BrokerRecord {
                    registration: BrokerRegistration {
                        id,
                        raft_addr: format!("r{id}"),
                        kafka_addr: format!("k{id}"),
                        admin_addr: format!("a{id}"),
                        rack: None,
                    },
                    fenced,
                    registered_at_ms: 0,
                    fenced_changed_at_ms: 0,
                },
            );
        }
        s
    }

    #[test]
    fn manual_assignments_are_checked_and_kept_as_given() {
        let s = state(&[(1, false), (2, false), (3, true)]);
        let none = BTreeMap::new();
        // Fenced brokers may be named (Kafka allows any registered broker);
        // the first of each list is the preferred leader, kept in order.
        let MetaCommand::CreateTopic {
            assignment,
            replication_factor,
            ..
        } = plan_create_topic_assigned(&s, "t", &[vec![3, 1], vec![2, 3]], &none, 1).unwrap()
        else {
            panic!("not a create")
        };
        assert_eq!(assignment, vec![vec![3, 1], vec![2, 3]]);
        assert_eq!(replication_factor, 2);
        let code = |assignment: &[Vec<u64>]| {
            plan_create_topic_assigned(&s, "t", assignment, &none, 1)
                .unwrap_err()
                .code
        };
        assert_eq!(code(&[]), MetaErrorCode::InvalidPartitions);
        assert_eq!(code(&[vec![]]), MetaErrorCode::InvalidReplicaAssignment);
        assert_eq!(
            code(&[vec![1, 2], vec![1]]),
            MetaErrorCode::InvalidReplicaAssignment
        );
        assert_eq!(code(&[vec![1, 1]]), MetaErrorCode::InvalidReplicaAssignment);
        let unknown = plan_create_topic_assigned(&s, "t", &[vec![1, 9]], &none, 1).unwrap_err();
        assert_eq!(unknown.code, MetaErrorCode::InvalidReplicaAssignment);
        assert!(unknown.message.contains("broker 9"), "{}", unknown.message);
        let bad_name = plan_create_topic_assigned(&s, "a/b", &[vec![1]], &none, 1).unwrap_err();
        assert_eq!(bad_name.code, MetaErrorCode::InvalidTopicName);
    }

    #[test]
    fn manual_assignments_of_new_partitions_match_the_count_and_replication_factor() {
        let mut s = state(&[(1, false), (2, false), (3, false)]);
        let partition = |partition, replicas: Vec<u64>| crate::state::PartitionAssignment {
            partition,
            group: u64::from(partition) + 10,
            replicas,
        };
        s.topics.insert(
            "t".into(),
            crate::state::Topic {
                name: "t".into(),
                id: 1,
                replication_factor: 2,
                configs: BTreeMap::new(),
                partitions: vec![partition(0, vec![1, 2]), partition(1, vec![2, 3])],
                created_at_ms: 0,
            },
        );
        let MetaCommand::AddPartitions { assignment, .. } =
            plan_add_partitions_assigned(&s, "t", 4, &[vec![3, 1], vec![1, 2]]).unwrap()
        else {
            panic!("not an add")
        };
        assert_eq!(assignment, vec![vec![3, 1], vec![1, 2]]);
        let code = |total: u32, assignment: &[Vec<u64>]| {
            plan_add_partitions_assigned(&s, "t", total, assignment)
                .unwrap_err()
                .code
        };
        // One list per new partition; the topic's replication factor.
        assert_eq!(
            code(4, &[vec![3, 1]]),
            MetaErrorCode::InvalidReplicaAssignment
        );
        assert_eq!(code(3, &[vec![3]]), MetaErrorCode::InvalidReplicaAssignment);
        assert_eq!(code(2, &[]), MetaErrorCode::InvalidPartitions);
        assert_eq!(
            plan_add_partitions_assigned(&s, "nope", 3, &[vec![1, 2]])
                .unwrap_err()
                .code,
            MetaErrorCode::UnknownTopic
        );
    }

    #[test]
    fn placement_uses_only_live_brokers() {
        let s = state(&[(1, false), (2, true), (3, false)]);
        let MetaCommand::CreateTopic { assignment, .. } =
            plan_create_topic(&s, "t", 4, 2, &BTreeMap::new(), 0, 1).unwrap()
        else {
            panic!("not a create")
        };
        assert!(assignment.iter().flatten().all(|&b| b != 2));
    }

    #[test]
    fn replication_factor_above_live_brokers_is_a_clear_error() {
        let s = state(&[(1, false), (2, false), (3, true)]);
        let e = plan_create_topic(&s, "t", 1, 3, &BTreeMap::new(), 0, 1).unwrap_err();
        assert_eq!(e.code, MetaErrorCode::InvalidReplicationFactor);
        assert!(
            e.message
                .contains("replication factor 3 is larger than the 2 live brokers"),
            "{}",
            e.message
        );
    }

    #[test]
    fn create_validates_name_existence_config_and_partitions() {
        let mut s = state(&[(1, false)]);
        s.topics.insert(
            "dup".into(),
            crate::state::Topic {
                name: "dup".into(),
                id: 1,
                replication_factor: 1,
                configs: BTreeMap::new(),
                partitions: vec![],
                created_at_ms: 0,
            },
        );
        let code = |name: &str, partitions: u32, configs: &[(&str, &str)]| {
            let configs = configs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            plan_create_topic(&s, name, partitions, 1, &configs, 0, 1)
                .unwrap_err()
                .code
        };
        assert_eq!(code("dup", 1, &[]), MetaErrorCode::TopicAlreadyExists);
        assert_eq!(code("a/b", 1, &[]), MetaErrorCode::InvalidTopicName);
        assert_eq!(code("ok", 0, &[]), MetaErrorCode::InvalidPartitions);
        assert_eq!(
            code("ok", 1, &[("retention.ms", "x")]),
            MetaErrorCode::InvalidConfig
        );
    }

    #[test]
    fn silent_brokers_are_fenced_and_returning_ones_unfenced() {
        let s = state(&[(1, false), (2, false), (3, true)]);
        let heard = BTreeMap::from([(1, 9_000), (2, 1_000), (3, 9_500)]);
        let changes = liveness_changes(&s, &heard, 10_000, 4_000, 0);
        assert_eq!(
            changes,
            vec![
                MetaCommand::SetBrokerFenced {
                    id: 2,
                    fenced: true,
                    now_ms: 10_000
                },
                MetaCommand::SetBrokerFenced {
                    id: 3,
                    fenced: false,
                    now_ms: 10_000
                },
            ]
        );
    }

    #[test]
    fn a_new_controller_gives_every_broker_a_full_session() {
        let s = state(&[(1, false), (2, false)]);
        // Took office at 9_000 and has heard from nobody yet: no fencing before 13_000.
        assert!(liveness_changes(&s, &BTreeMap::new(), 12_999, 4_000, 9_000).is_empty());
        assert_eq!(
            liveness_changes(&s, &BTreeMap::new(), 13_000, 4_000, 9_000).len(),
            2
        );
    }

    #[test]
    fn partitions_only_grow() {
        let mut s = state(&[(1, false), (2, false)]);
        s.topics.insert(
            "t".into(),
            crate::state::Topic {
                name: "t".into(),
                id: 1,
                replication_factor: 2,
                configs: BTreeMap::new(),
                partitions: vec![crate::state::PartitionAssignment {
                    partition: 0,
                    group: 1,
                    replicas: vec![1, 2],
                }],
                created_at_ms: 0,
            },
        );
        let MetaCommand::AddPartitions { assignment, .. } =
            plan_add_partitions(&s, "t", 3, 0).unwrap()
        else {
            panic!("not an add")
        };
        assert_eq!(assignment.len(), 2);
        assert!(assignment.iter().all(|r| r.len() == 2));
        assert_eq!(
            plan_add_partitions(&s, "t", 1, 0).unwrap_err().code,
            MetaErrorCode::InvalidPartitions
        );
        assert_eq!(
            plan_add_partitions(&s, "x", 4, 0).unwrap_err().code,
            MetaErrorCode::UnknownTopic
        );
    }

    #[test]
    fn learners_are_registered_non_members() {
        let s = state(&[(1, false), (2, false), (4, false)]);
        assert_eq!(
            learners_to_add(&s, &BTreeSet::from([1, 2, 3])),
            vec![(4, "r4".to_string())]
        );
    }
}
