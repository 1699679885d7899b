//! The metadata catalogue: brokers, topics, partition assignments, configs.
//! It is the state machine of the metadata Raft group; `apply` is deterministic
//! (time comes in the command, ids come from the log), so every broker that
//! applies the same log holds the same catalogue.

use std::collections::{BTreeMap, BTreeSet};

use openraft::LogId;
use serde::{Deserialize, Deserializer, Serialize};

use cairn_common::{GroupId, Machine};

use crate::topic_config::{validate_configs, validate_topic_name, TOPIC_CONFIGS};
use crate::MetaTypeConfig;

/// A broker as it registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    /// Unique broker id.
    pub id: u64,
    /// Address of the internal Raft listener.
    pub raft_addr: String,
    /// Address of the Kafka listener.
    pub kafka_addr: String,
    /// Address of the admin HTTP listener.
    pub admin_addr: String,
    /// Rack, if configured.
    pub rack: Option<String>,
}

/// A registered broker and its liveness as the controller decided it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRecord {
    /// What the broker registered.
    pub registration: BrokerRegistration,
    /// Fenced brokers missed their heartbeats; they are shown offline.
    pub fenced: bool,
    /// When the broker (re-)registered, in ms since the Unix epoch.
    pub registered_at_ms: u64,
    /// When the fenced flag last changed, in ms since the Unix epoch.
    pub fenced_changed_at_ms: u64,
}

/// One partition's placement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionAssignment {
    /// Partition index within the topic.
    pub partition: u32,
    /// The Raft group replicating it.
    pub group: GroupId,
    /// Replica brokers; the first is the preferred leader.
    pub replicas: Vec<u64>,
}

/// A topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Topic name.
    pub name: String,
    /// Cluster-unique topic id (a UUID derived from the creating log entry).
    pub id: u128,
    /// Replication factor.
    pub replication_factor: u32,
    /// Config overrides (defaults are not stored).
    pub configs: BTreeMap<String, String>,
    /// Partitions in index order.
    pub partitions: Vec<PartitionAssignment>,
    /// Creation time, ms since the Unix epoch.
    pub created_at_ms: u64,
}

/// A change to the catalogue, replicated through the metadata group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaCommand {
    /// A broker started (or restarted, possibly with new addresses).
    RegisterBroker {
        registration: BrokerRegistration,
        now_ms: u64,
    },
    /// The controller fenced (missed heartbeats) or unfenced a broker.
    SetBrokerFenced { id: u64, fenced: bool, now_ms: u64 },
    /// Creates a topic with a placement the controller computed.
    CreateTopic {
        name: String,
        replication_factor: u32,
        configs: BTreeMap<String, String>,
        assignment: Vec<Vec<u64>>,
        now_ms: u64,
    },
    /// Deletes a topic; its groups stop and their data is deleted.
    DeleteTopic { name: String },
    /// Adds partitions to a topic with a placement the controller computed.
    AddPartitions {
        name: String,
        assignment: Vec<Vec<u64>>,
    },
    /// Changes a topic's config overrides (see [`ConfigChange`]).
    AlterTopicConfigs { name: String, change: ConfigChange },
    /// Hands `broker` a block of idempotent producer ids (see
    /// [`producer_id_block`]). New commands go last: the variant index is in
    /// every stored log entry.
    AllocateProducerIds { broker: u64 },
    /// Starts (or redirects) moving partition `group` to the replicas
    /// `target`; `None` cancels the move in progress: the partition moves
    /// back to the replicas it had (see [`crate::reassign`]).
    Reassign {
        group: GroupId,
        target: Option<Vec<u64>>,
        now_ms: u64,
    },
    /// The partition's Raft voters are `target` now: the move is done, the
    /// replicas become `target`, and the others delete their copy. Ignored
    /// unless the move in progress still goes to `target`.
    CompleteReassignment { group: GroupId, target: Vec<u64> },
    /// Starts draining `broker`: no new replicas go to it, and the
    /// controller moves its replicas elsewhere.
    Decommission { broker: u64 },
    /// Stops draining `broker`; moves taking replicas off it move back.
    Recommission { broker: u64 },
    /// Removes a broker that holds no replica from the catalogue.
    UnregisterBroker { broker: u64 },
}

/// Producer ids handed out per [`MetaCommand::AllocateProducerIds`].
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// A block of producer ids, `first..first + count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerIdBlock {
    /// The first id.
    pub first: i64,
    /// How many ids.
    pub count: i64,
}

/// The block an `AllocateProducerIds` applied at `log_index` hands out: the
/// ids `log_index * 1000 ..` (a metadata log index is never used twice, by any
/// controller, before or after a restart or a snapshot, so neither is a
/// block; no counter needs storing). `None` past the largest id.
pub fn producer_id_block(log_index: u64) -> Option<ProducerIdBlock> {
    let first = i64::try_from(log_index)
        .ok()?
        .checked_mul(PRODUCER_ID_BLOCK_SIZE)?;
    first.checked_add(PRODUCER_ID_BLOCK_SIZE - 1)?;
    Some(ProducerIdBlock {
        first,
        count: PRODUCER_ID_BLOCK_SIZE,
    })
}

/// A change to a topic's config overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChange {
    /// Keys to set.
    pub set: BTreeMap<String, String>,
    /// Keys to reset to their default.
    pub delete: Vec<String>,
    /// Replace every override with `set` (Kafka's AlterConfigs) rather than
    /// change only the named keys (IncrementalAlterConfigs).
    pub replace: bool,
}

impl ConfigChange {
    /// The overrides after applying this change to `current`; an error
    /// names the bad key or value.
    pub fn apply_to(
        &self,
        current: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, MetaError> {
        let invalid = |m: String| MetaError::new(MetaErrorCode::InvalidConfig, m);
        validate_configs(&self.set).map_err(invalid)?;
        for key in &self.delete {
            if !TOPIC_CONFIGS.iter().any(|c| c.name == key) {
                return Err(invalid(format!("unknown topic config '{key}'")));
            }
            if self.set.contains_key(key) {
                return Err(invalid(format!("config '{key}' is both set and deleted")));
            }
        }
        let mut next = if self.replace {
            BTreeMap::new()
        } else {
            current.clone()
        };
        for key in &self.delete {
            next.remove(key);
        }
        next.extend(self.set.clone());
        Ok(next)
    }
}

/// What went wrong, by category. The broker maps each category onto the
/// error code of the protocol a client speaks (Kafka, HTTP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaErrorCode {
    TopicAlreadyExists,
    UnknownTopic,
    InvalidTopicName,
    InvalidPartitions,
    InvalidReplicationFactor,
    InvalidConfig,
    UnknownBroker,
    NotController,
    Unavailable,
    /// A manual replica assignment that names an unknown broker, a broker
    /// twice in one partition, or replica lists of different lengths.
    InvalidReplicaAssignment,
    /// A cancel for a partition that is not moving.
    NoReassignmentInProgress,
    /// A request that cannot be carried out as asked (it says why).
    InvalidRequest,
}

impl MetaErrorCode {
    /// A stable upper-case name used in JSON errors and by the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Self::TopicAlreadyExists => "TOPIC_ALREADY_EXISTS",
            Self::UnknownTopic => "UNKNOWN_TOPIC_OR_PARTITION",
            Self::InvalidTopicName => "INVALID_TOPIC_EXCEPTION",
            Self::InvalidPartitions => "INVALID_PARTITIONS",
            Self::InvalidReplicationFactor => "INVALID_REPLICATION_FACTOR",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::UnknownBroker => "BROKER_NOT_AVAILABLE",
            Self::NotController => "NOT_CONTROLLER",
            Self::Unavailable => "UNAVAILABLE",
            Self::InvalidReplicaAssignment => "INVALID_REPLICA_ASSIGNMENT",
            Self::NoReassignmentInProgress => "NO_REASSIGNMENT_IN_PROGRESS",
            Self::InvalidRequest => "INVALID_REQUEST",
        }
    }
}

/// An error answer to a metadata request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}: {message}", code.name())]
pub struct MetaError {
    /// The category.
    pub code: MetaErrorCode,
    /// What failed and with which input.
    pub message: String,
}

impl MetaError {
    /// A new error.
    pub fn new(code: MetaErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The result of applying a [`MetaCommand`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetaResponse {
    /// Applied; nothing to report.
    #[default]
    Ok,
    /// The topic was created with these partitions.
    TopicCreated(Topic),
    /// The command was rejected; the catalogue did not change.
    Rejected(MetaError),
    /// A block of producer ids for the broker that asked.
    ProducerIds(ProducerIdBlock),
    /// The metadata group's state (for [`crate::ControllerRequest::DescribeQuorum`]).
    Quorum(crate::controller::QuorumDescription),
}

/// The catalogue.
///
/// Stored with bincode in metadata snapshots, field after field: a field
/// added later goes last and is read only if present (see the
/// `Deserialize` impl), so that a snapshot written before it still opens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetaState {
    /// Registered brokers by id.
    pub brokers: BTreeMap<u64, BrokerRecord>,
    /// Topics by name.
    pub topics: BTreeMap<String, Topic>,
    /// The next partition group id to hand out. Ids below it were allocated once
    /// and are never reused, so a group below it that no topic assigns to a
    /// broker is known to be deleted.
    pub next_group_id: GroupId,
    /// Replica moves in progress, by partition group (absent from snapshots
    /// written before moves existed).
    pub reassignments: BTreeMap<GroupId, crate::reassign::Reassignment>,
    /// Brokers being decommissioned (absent from snapshots written before
    /// decommissioning existed).
    pub decommissioning: BTreeSet<u64>,
}

impl<'de> Deserialize<'de> for MetaState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, SeqAccess, Visitor};
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = MetaState;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the metadata catalogue")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MetaState, A::Error> {
                let brokers = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let topics = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let next_group_id = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(2, &self))?;
                // A snapshot from before replica moves ends here: reading on
                // fails at the end of its bytes, and there is no move.
                let reassignments = seq.next_element().ok().flatten().unwrap_or_default();
                let decommissioning = seq.next_element().ok().flatten().unwrap_or_default();
                Ok(MetaState {
                    brokers,
                    topics,
                    next_group_id,
                    reassignments,
                    decommissioning,
                })
            }
        }
        deserializer.deserialize_struct(
            "MetaState",
            &[
                "brokers",
                "topics",
                "next_group_id",
                "reassignments",
                "decommissioning",
            ],
            Fields,
        )
    }
}

impl MetaState {
    /// Every partition replica assigned to `broker`: (topic, assignment).
    pub fn replicas_on(&self, broker: u64) -> Vec<(&Topic, &PartitionAssignment)> {
        self.topics
            .values()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .filter(|(_, p)| p.replicas.contains(&broker))
            .collect()
    }

    /// The topic and partition index a group replicates.
    pub fn partition_of_group(&self, group: GroupId) -> Option<(&Topic, &PartitionAssignment)> {
        self.topics
            .values()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .find(|(_, p)| p.group == group)
    }

    /// Brokers that are not fenced.
    pub fn live_brokers(&self) -> impl Iterator<Item = &BrokerRecord> {
        self.brokers.values().filter(|b| !b.fenced)
    }

    fn add_partitions(&mut self, name: &str, assignment: &[Vec<u64>]) -> Result<Topic, MetaError> {
        let Some(topic) = self.topics.get(name) else {
            return Err(MetaError::new(
                MetaErrorCode::UnknownTopic,
                format!("topic '{name}' does not exist"),
            ));
        };
        if assignment.is_empty() {
            return Err(MetaError::new(
                MetaErrorCode::InvalidPartitions,
                format!("topic '{name}': no partitions to add"),
            ));
        }
        for replicas in assignment {
            if replicas.len() != topic.replication_factor as usize {
                return Err(MetaError::new(
                    MetaErrorCode::InvalidReplicationFactor,
                    format!(
                        "topic '{name}': a new partition has {} replicas, expected {}",
                        replicas.len(),
                        topic.replication_factor
                    ),
                ));
            }
            if let Some(unknown) = replicas.iter().find(|r| !self.brokers.contains_key(r)) {
                return Err(MetaError::new(
                    MetaErrorCode::UnknownBroker,
                    format!("broker {unknown} is not registered"),
                ));
            }
        }
        let first_group = self.next_group_id.max(1);
        self.next_group_id = first_group + assignment.len() as u64;
        let topic = self.topics.get_mut(name).expect("checked above");
        let existing = topic.partitions.len() as u32;
        for (i, replicas) in assignment.iter().enumerate() {
            topic.partitions.push(PartitionAssignment {
                partition: existing + i as u32,
                group: first_group + i as u64,
                replicas: replicas.clone(),
            });
        }
        Ok(topic.clone())
    }

    fn create_topic(
        &mut self,
        log_id: &LogId<u64>,
        name: &str,
        replication_factor: u32,
        configs: &BTreeMap<String, String>,
        assignment: &[Vec<u64>],
        now_ms: u64,
    ) -> Result<Topic, MetaError> {
        validate_topic_name(name)
            .map_err(|m| MetaError::new(MetaErrorCode::InvalidTopicName, m))?;
        if self.topics.contains_key(name) {
            return Err(MetaError::new(
                MetaErrorCode::TopicAlreadyExists,
                format!("topic '{name}' already exists"),
            ));
        }
        validate_configs(configs).map_err(|m| MetaError::new(MetaErrorCode::InvalidConfig, m))?;
        if assignment.is_empty() {
            return Err(MetaError::new(
                MetaErrorCode::InvalidPartitions,
                format!("topic '{name}' needs at least one partition"),
            ));
        }
        for (p, replicas) in assignment.iter().enumerate() {
            if replicas.len() != replication_factor as usize {
                return Err(MetaError::new(
                    MetaErrorCode::InvalidReplicationFactor,
                    format!(
                        "partition {p} of '{name}' has {} replicas, expected {replication_factor}",
                        replicas.len()
                    ),
                ));
            }
            if let Some(unknown) = replicas.iter().find(|r| !self.brokers.contains_key(r)) {
                return Err(MetaError::new(
                    MetaErrorCode::UnknownBroker,
                    format!("broker {unknown} is not registered"),
                ));
            }
        }
        let first_group = self.next_group_id.max(1);
        let partitions = assignment
            .iter()
            .enumerate()
            .map(|(i, replicas)| PartitionAssignment {
                partition: i as u32,
                group: first_group + i as u64,
                replicas: replicas.clone(),
            })
            .collect::<Vec<_>>();
        self.next_group_id = first_group + partitions.len() as u64;
        let topic = Topic {
            name: name.to_string(),
            id: (u128::from(log_id.leader_id.term) << 64) | u128::from(log_id.index),
            replication_factor,
            configs: configs.clone(),
            partitions,
            created_at_ms: now_ms,
        };
        self.topics.insert(name.to_string(), topic.clone());
        Ok(topic)
    }
}

impl Machine<MetaTypeConfig> for MetaState {
    fn apply(&mut self, log_id: &LogId<u64>, command: &MetaCommand) -> MetaResponse {
        match command {
            MetaCommand::AllocateProducerIds { broker } => match producer_id_block(log_id.index) {
                Some(block) => MetaResponse::ProducerIds(block),
                None => MetaResponse::Rejected(MetaError::new(
                    MetaErrorCode::Unavailable,
                    format!("no producer ids left for broker {broker}"),
                )),
            },
            MetaCommand::RegisterBroker {
                registration,
                now_ms,
            } => {
                let record = BrokerRecord {
                    registration: registration.clone(),
                    fenced: false,
                    registered_at_ms: *now_ms,
                    fenced_changed_at_ms: *now_ms,
                };
                self.brokers.insert(registration.id, record);
                MetaResponse::Ok
            }
            MetaCommand::SetBrokerFenced { id, fenced, now_ms } => match self.brokers.get_mut(id) {
                Some(record) => {
                    if record.fenced != *fenced {
                        record.fenced = *fenced;
                        record.fenced_changed_at_ms = *now_ms;
                    }
                    MetaResponse::Ok
                }
                None => MetaResponse::Rejected(MetaError::new(
                    MetaErrorCode::UnknownBroker,
                    format!("broker {id} is not registered"),
                )),
            },
            MetaCommand::CreateTopic {
                name,
                replication_factor,
                configs,
                assignment,
                now_ms,
            } => {
                match self.create_topic(
                    log_id,
                    name,
                    *replication_factor,
                    configs,
                    assignment,
                    *now_ms,
                ) {
                    Ok(topic) => MetaResponse::TopicCreated(topic),
                    Err(e) => MetaResponse::Rejected(e),
                }
            }
            MetaCommand::AddPartitions { name, assignment } => {
                match self.add_partitions(name, assignment) {
                    Ok(topic) => MetaResponse::TopicCreated(topic),
                    Err(e) => MetaResponse::Rejected(e),
                }
            }
            MetaCommand::AlterTopicConfigs { name, change } => {
                let Some(topic) = self.topics.get_mut(name) else {
                    return MetaResponse::Rejected(MetaError::new(
                        MetaErrorCode::UnknownTopic,
                        format!("topic '{name}' does not exist"),
                    ));
                };
                match change.apply_to(&topic.configs) {
                    Ok(configs) => {
                        topic.configs = configs;
                        MetaResponse::Ok
                    }
                    Err(e) => MetaResponse::Rejected(e),
                }
            }
            MetaCommand::Reassign {
                group,
                target,
                now_ms,
            } => match self.reassign(*group, target.as_deref(), *now_ms) {
                Ok(()) => MetaResponse::Ok,
                Err(e) => MetaResponse::Rejected(e),
            },
            MetaCommand::CompleteReassignment { group, target } => {
                self.complete_reassignment(*group, target);
                MetaResponse::Ok
            }
            MetaCommand::Decommission { broker } => match self.brokers.contains_key(broker) {
                true => {
                    self.decommissioning.insert(*broker);
                    MetaResponse::Ok
                }
                false => MetaResponse::Rejected(MetaError::new(
                    MetaErrorCode::UnknownBroker,
                    format!("broker {broker} is not registered"),
                )),
            },
            MetaCommand::Recommission { broker } => {
                self.recommission(*broker);
                MetaResponse::Ok
            }
            MetaCommand::UnregisterBroker { broker } => match self.unregister(*broker) {
                Ok(()) => MetaResponse::Ok,
                Err(e) => MetaResponse::Rejected(e),
            },
            MetaCommand::DeleteTopic { name } => match self.topics.remove(name) {
                Some(topic) => {
                    for p in &topic.partitions {
                        self.reassignments.remove(&p.group);
                    }
                    MetaResponse::Ok
                }
                None => MetaResponse::Rejected(MetaError::new(
                    MetaErrorCode::UnknownTopic,
                    format!("topic '{name}' does not exist"),
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    fn log_id(index: u64) -> LogId<u64> {
        LogId::new(CommittedLeaderId::new(3, 1), index)
    }

    fn registration(id: u64) -> BrokerRegistration {
        BrokerRegistration {
            id,
            raft_addr: format!("127.0.0.1:{}", 19091 + id),
            kafka_addr: format!("127.0.0.1:{}", 9091 + id),
            admin_addr: format!("127.0.0.1:{}", 9643 + id),
            rack: None,
        }
    }

    fn with_brokers(n: u64) -> MetaState {
        let mut s = MetaState::default();
        for id in 1..=n {
            let r = s.apply(
                &log_id(id),
                &MetaCommand::RegisterBroker {
                    registration: registration(id),
                    now_ms: 10,
                },
            );
            assert_eq!(r, MetaResponse::Ok);
        }
        s
    }

    fn create(name: &str, assignment: Vec<Vec<u64>>) -> MetaCommand {
        MetaCommand::CreateTopic {
            name: name.into(),
            replication_factor: assignment[0].len() as u32,
            configs: BTreeMap::new(),
            assignment,
            now_ms: 20,
        }
    }

    #[test]
    fn producer_id_blocks_follow_the_log_index_and_never_overlap() {
        let mut s = with_brokers(1);
        let before = s.clone();
        let blocks: Vec<ProducerIdBlock> = [7u64, 8, 9, 120]
            .iter()
            .map(|&index| {
                match s.apply(
                    &log_id(index),
                    &MetaCommand::AllocateProducerIds { broker: 1 },
                ) {
                    MetaResponse::ProducerIds(block) => block,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        assert_eq!(
            blocks[0],
            ProducerIdBlock {
                first: 7000,
                count: 1000
            }
        );
        for pair in blocks.windows(2) {
            assert!(pair[0].first + pair[0].count <= pair[1].first, "{pair:?}");
        }
        // Nothing is stored: the catalogue is unchanged (and so its snapshots).
        assert_eq!(s, before);
        // Past the largest id: refused, not wrapped.
        assert!(producer_id_block(u64::MAX).is_none());
        assert!(producer_id_block((i64::MAX / 1000) as u64 + 1).is_none());
        assert!(matches!(
            s.apply(
                &log_id(u64::MAX),
                &MetaCommand::AllocateProducerIds { broker: 1 }
            ),
            MetaResponse::Rejected(_)
        ));
    }

    #[test]
    fn create_allocates_unique_groups_and_never_reuses_them() {
        let mut s = with_brokers(3);
        let MetaResponse::TopicCreated(a) =
            s.apply(&log_id(10), &create("a", vec![vec![1, 2], vec![2, 3]]))
        else {
            panic!("create a failed")
        };
        assert_eq!(
            a.partitions.iter().map(|p| p.group).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert_eq!(
            s.apply(&log_id(11), &MetaCommand::DeleteTopic { name: "a".into() }),
            MetaResponse::Ok
        );
        let MetaResponse::TopicCreated(b) = s.apply(&log_id(12), &create("a", vec![vec![3, 1]]))
        else {
            panic!("re-create a failed")
        };
        assert_eq!(b.partitions[0].group, 3, "group ids are never reused");
        assert_ne!(a.id, b.id, "a re-created topic has a new id");
        assert_eq!(s.replicas_on(3).len(), 1);
        assert_eq!(
            s.partition_of_group(3)
                .map(|(t, p)| (t.name.as_str(), p.partition)),
            Some(("a", 0))
        );
    }

    #[test]
    fn rejections_leave_state_unchanged() {
        let mut s = with_brokers(2);
        s.apply(&log_id(5), &create("t", vec![vec![1]]));
        let before = s.clone();
        let cases = [
            (
                create("t", vec![vec![2]]),
                MetaErrorCode::TopicAlreadyExists,
            ),
            (create("u", vec![vec![9]]), MetaErrorCode::UnknownBroker),
            (
                create("bad name", vec![vec![1]]),
                MetaErrorCode::InvalidTopicName,
            ),
            (
                MetaCommand::DeleteTopic {
                    name: "nope".into(),
                },
                MetaErrorCode::UnknownTopic,
            ),
            (
                MetaCommand::SetBrokerFenced {
                    id: 7,
                    fenced: true,
                    now_ms: 1,
                },
                MetaErrorCode::UnknownBroker,
            ),
            (
                MetaCommand::CreateTopic {
                    name: "c".into(),
                    replication_factor: 1,
                    configs: BTreeMap::from([("retention.ms".into(), "never".into())]),
                    assignment: vec![vec![1]],
                    now_ms: 1,
                },
                MetaErrorCode::InvalidConfig,
            ),
            (
                MetaCommand::CreateTopic {
                    name: "d".into(),
                    replication_factor: 2,
                    configs: BTreeMap::new(),
                    assignment: vec![vec![1]],
                    now_ms: 1,
                },
                MetaErrorCode::InvalidReplicationFactor,
            ),
        ];
        for (i, (command, code)) in cases.into_iter().enumerate() {
            match s.apply(&log_id(100 + i as u64), &command) {
                MetaResponse::Rejected(e) => assert_eq!(e.code, code, "{command:?}"),
                other => panic!("{command:?} gave {other:?}"),
            }
            assert_eq!(s, before, "{command:?} changed the state");
        }
    }

    #[test]
    fn partitions_are_added_with_fresh_groups() {
        let mut s = with_brokers(3);
        s.apply(&log_id(5), &create("t", vec![vec![1, 2], vec![2, 3]]));
        let added = MetaCommand::AddPartitions {
            name: "t".into(),
            assignment: vec![vec![3, 1]],
        };
        let MetaResponse::TopicCreated(t) = s.apply(&log_id(6), &added) else {
            panic!("add failed")
        };
        assert_eq!(t.partitions.len(), 3);
        assert_eq!((t.partitions[2].partition, t.partitions[2].group), (2, 3));
        let bad_rf = MetaCommand::AddPartitions {
            name: "t".into(),
            assignment: vec![vec![3]],
        };
        assert!(
            matches!(s.apply(&log_id(7), &bad_rf), MetaResponse::Rejected(e) if e.code == MetaErrorCode::InvalidReplicationFactor)
        );
        let unknown = MetaCommand::AddPartitions {
            name: "u".into(),
            assignment: vec![vec![1, 2]],
        };
        assert!(
            matches!(s.apply(&log_id(8), &unknown), MetaResponse::Rejected(e) if e.code == MetaErrorCode::UnknownTopic)
        );
    }

    #[test]
    fn fencing_is_recorded() {
        let mut s = with_brokers(2);
        s.apply(
            &log_id(9),
            &MetaCommand::SetBrokerFenced {
                id: 2,
                fenced: true,
                now_ms: 50,
            },
        );
        assert_eq!(
            s.live_brokers()
                .map(|b| b.registration.id)
                .collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(s.brokers[&2].fenced_changed_at_ms, 50);
        // Re-registering unfences.
        s.apply(
            &log_id(10),
            &MetaCommand::RegisterBroker {
                registration: registration(2),
                now_ms: 60,
            },
        );
        assert!(!s.brokers[&2].fenced);
    }

    #[test]
    fn apply_is_deterministic() {
        let commands = [
            create("x", vec![vec![1, 2, 3]]),
            MetaCommand::SetBrokerFenced {
                id: 1,
                fenced: true,
                now_ms: 5,
            },
            create("y", vec![vec![2, 3, 1], vec![3, 1, 2]]),
            MetaCommand::DeleteTopic { name: "x".into() },
        ];
        let run = || {
            let mut s = with_brokers(3);
            for (i, c) in commands.iter().enumerate() {
                s.apply(&log_id(50 + i as u64), c);
            }
            s
        };
        assert_eq!(run(), run());
    }
}
