//! [`MemoryCluster`]: a [`KafkaCluster`] held in a map of topic → partitions →
//! record batches, with a high watermark and a leader per partition. This
//! broker is [`THIS_BROKER`]; it serves Produce and Fetch only for the
//! partitions it leads, as the real broker does. It coordinates every
//! consumer group itself, with a real coordinator ([`MemoryGroups`]).

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use cairn_common::batch;
use cairn_coordinator::{Event, GroupCoordinator, ListedGroup, RequestId, Response};
use cairn_kafka::error_code::{
    COORDINATOR_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER, OFFSET_OUT_OF_RANGE, TOPIC_ALREADY_EXISTS,
    UNKNOWN_TOPIC_OR_PARTITION,
};
use cairn_kafka::{
    AlterConfigs, BoxFuture, BrokerEndpoint, ClusterMetadata, ConfigEntry, ConfigSource,
    ConfigSynonym, ConfigType, CreatedTopic, KafkaCluster, KafkaError, MetadataQuorum,
    MovingPartition, NewTopic, PartitionMetadata, PartitionOutcome, PartitionRead, QuorumMember,
    TopicMetadata,
};
use tokio::sync::watch;

use crate::memory_groups::MemoryGroups;

/// The broker the handlers run on.
pub const THIS_BROKER: i32 = 1;
/// The leader epoch of every partition this broker leads.
pub const LEADER_EPOCH: i32 = 4;
/// The id CreateTopics reports for every topic it creates.
pub const CREATED_TOPIC_ID: u128 = 0xC0FFEE;
/// A registered broker that is fenced (not in the live brokers).
pub const FENCED_BROKER: i32 = 9;
/// Every broker of the cluster.
pub const BROKERS: [i32; 3] = [1, 2, 3];
/// The `max.message.bytes` of every topic (Kafka's default).
pub const MAX_MESSAGE_BYTES: usize = 1_048_588;

/// One stored batch.
#[derive(Clone, Debug)]
pub struct StoredBatch {
    /// Offset of its first record.
    pub base_offset: i64,
    /// Records in it.
    pub records: i64,
    /// The batch as produced, with its base offset patched in.
    pub bytes: Bytes,
}

/// One partition.
#[derive(Debug)]
pub struct MemoryPartition {
    /// The broker leading it, if any.
    pub leader: Option<i32>,
    /// Stored batches in offset order.
    pub batches: Vec<StoredBatch>,
    /// The offset the next record gets.
    pub log_end: i64,
    /// One past the last committed offset; Fetch serves below it.
    pub high_watermark: i64,
    /// Whether appends wait for [`MemoryCluster::commit_all`] instead of
    /// committing at once.
    pub hold_commits: bool,
    high_watermark_tx: watch::Sender<u64>,
}

impl MemoryPartition {
    fn new(leader: Option<i32>) -> Self {
        Self {
            leader,
            batches: Vec::new(),
            log_end: 0,
            high_watermark: 0,
            hold_commits: false,
            high_watermark_tx: watch::channel(0).0,
        }
    }

    /// How many watchers wait for the high watermark to move.
    pub fn high_watermark_subscribers(&self) -> usize {
        self.high_watermark_tx.receiver_count()
    }

    fn commit(&mut self) {
        self.high_watermark = self.log_end;
        self.high_watermark_tx.send_replace(self.log_end as u64);
    }
}

/// The in-memory cluster.
#[derive(Debug, Default)]
pub struct MemoryCluster {
    topics: Mutex<BTreeMap<String, Vec<MemoryPartition>>>,
    /// Every config change that reached the cluster, in order.
    pub altered: Mutex<Vec<(String, AlterConfigs)>>,
    /// The group coordinator of every group.
    pub groups: MemoryGroups,
    /// Replica moves in progress: (topic, partition) → target.
    pub moves: Mutex<BTreeMap<(String, i32), Vec<i32>>>,
}

/// A group whose coordinator cannot be found: FindCoordinator answers
/// COORDINATOR_NOT_AVAILABLE for it.
pub const LOADING_GROUP: &str = "still-loading";

impl MemoryCluster {
    /// A topic whose partitions are led by `leaders` (`None`: no leader).
    pub fn add_topic(&self, name: &str, leaders: &[Option<i32>]) {
        let partitions = leaders.iter().map(|&l| MemoryPartition::new(l)).collect();
        self.topics
            .lock()
            .unwrap()
            .insert(name.to_string(), partitions);
    }

    /// Looks at or changes one partition; panics if it does not exist.
    pub fn partition<R>(
        &self,
        topic: &str,
        partition: i32,
        f: impl FnOnce(&mut MemoryPartition) -> R,
    ) -> R {
        let mut topics = self.topics.lock().unwrap();
        let p = topics
            .get_mut(topic)
            .and_then(|t| t.get_mut(partition as usize))
            .unwrap_or_else(|| panic!("no partition {topic}/{partition}"));
        f(p)
    }

    /// Commits everything appended to the partition.
    pub fn commit_all(&self, topic: &str, partition: i32) {
        self.partition(topic, partition, MemoryPartition::commit);
    }

    /// Whether `topic` exists.
    pub fn has_topic(&self, topic: &str) -> bool {
        self.topics.lock().unwrap().contains_key(topic)
    }

    /// How many partitions `topic` has, if it exists.
    pub fn partition_count(&self, topic: &str) -> Option<usize> {
        self.topics.lock().unwrap().get(topic).map(Vec::len)
    }

    fn led_here<R>(
        &self,
        topic: &str,
        partition: i32,
        f: impl FnOnce(&mut MemoryPartition) -> Result<R, KafkaError>,
    ) -> Result<R, KafkaError> {
        let mut topics = self.topics.lock().unwrap();
        let p = topics
            .get_mut(topic)
            .and_then(|t| t.get_mut(usize::try_from(partition).ok()?))
            .ok_or(KafkaError::from_code(UNKNOWN_TOPIC_OR_PARTITION))?;
        if p.leader != Some(THIS_BROKER) {
            return Err(KafkaError::from_code(NOT_LEADER_OR_FOLLOWER));
        }
        f(p)
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<T> {
    Box::pin(std::future::ready(value))
}

impl KafkaCluster for MemoryCluster {
    fn broker_id(&self) -> i32 {
        THIS_BROKER
    }

    fn leader_epoch(&self, topic: &str, partition: i32) -> Result<i32, KafkaError> {
        self.led_here(topic, partition, |_| Ok(LEADER_EPOCH))
    }

    /// Epochs 1 (offsets 0..5) and 3 (offsets 5..) wrote records; the leader
    /// is in epoch 4 ([`LEADER_EPOCH`]).
    fn end_offset_for_epoch(
        &self,
        topic: &str,
        partition: i32,
        epoch: i32,
    ) -> Result<(i32, i64), KafkaError> {
        self.led_here(topic, partition, |p| {
            Ok(match epoch {
                e if !(0..=LEADER_EPOCH).contains(&e) => (-1, -1),
                LEADER_EPOCH => (LEADER_EPOCH, p.high_watermark),
                0..=2 => (epoch.min(1), 5),
                _ => (3, p.high_watermark),
            })
        })
    }

    /// Every partition's preferred replica is broker 1 ([`BROKERS`] order):
    /// a partition led elsewhere moves to it; one without a leader cannot.
    fn elect_preferred_leaders(
        &self,
        partitions: Option<Vec<(String, i32)>>,
        _timeout: std::time::Duration,
    ) -> BoxFuture<Vec<PartitionOutcome>> {
        let mut topics = self.topics.lock().unwrap();
        let partitions = partitions.unwrap_or_else(|| {
            topics
                .iter()
                .flat_map(|(name, ps)| (0..ps.len()).map(move |i| (name.clone(), i as i32)))
                .collect()
        });
        let results = partitions
            .into_iter()
            .map(|(topic, partition)| {
                let p = topics
                    .get_mut(&topic)
                    .and_then(|t| t.get_mut(usize::try_from(partition).ok()?));
                let result = match p {
                    None => Err(KafkaError::from_code(UNKNOWN_TOPIC_OR_PARTITION)),
                    Some(p) if p.leader == Some(BROKERS[0]) => Err(KafkaError::from_code(
                        cairn_kafka::error_code::ELECTION_NOT_NEEDED,
                    )),
                    Some(p) if p.leader.is_none() => Err(KafkaError::new(
                        cairn_kafka::error_code::PREFERRED_LEADER_NOT_AVAILABLE,
                        "no leader to hand over",
                    )),
                    Some(p) => {
                        p.leader = Some(BROKERS[0]);
                        Ok(())
                    }
                };
                (topic, partition, result)
            })
            .collect();
        ready(results)
    }

    /// Every partition has replicas [`BROKERS`]; a move is recorded, a
    /// cancel forgets it.
    fn alter_partition_reassignments(
        &self,
        moves: Vec<(String, i32, Option<Vec<i32>>)>,
        allow_replication_factor_change: bool,
    ) -> BoxFuture<Vec<PartitionOutcome>> {
        let topics = self.topics.lock().unwrap();
        let mut moving = self.moves.lock().unwrap();
        let outcomes = moves
            .into_iter()
            .map(|(topic, partition, target)| {
                let exists = topics
                    .get(&topic)
                    .is_some_and(|t| usize::try_from(partition).is_ok_and(|i| i < t.len()));
                let key = (topic.clone(), partition);
                let result = match target {
                    _ if !exists => Err(KafkaError::from_code(UNKNOWN_TOPIC_OR_PARTITION)),
                    None if moving.remove(&key).is_none() => Err(KafkaError::from_code(
                        cairn_kafka::error_code::NO_REASSIGNMENT_IN_PROGRESS,
                    )),
                    None => Ok(()),
                    Some(t) if !allow_replication_factor_change && t.len() != BROKERS.len() => Err(
                        KafkaError::from_code(cairn_kafka::error_code::INVALID_REPLICATION_FACTOR),
                    ),
                    Some(t) => {
                        moving.insert(key, t);
                        Ok(())
                    }
                };
                (topic, partition, result)
            })
            .collect();
        ready(outcomes)
    }

    fn partition_reassignments(&self) -> Vec<MovingPartition> {
        self.moves
            .lock()
            .unwrap()
            .iter()
            .map(|((topic, partition), target)| {
                let removing: Vec<i32> = BROKERS
                    .iter()
                    .copied()
                    .filter(|b| !target.contains(b))
                    .collect();
                MovingPartition {
                    topic: topic.clone(),
                    partition: *partition,
                    replicas: target.iter().copied().chain(removing.clone()).collect(),
                    adding: target
                        .iter()
                        .copied()
                        .filter(|b| !BROKERS.contains(b))
                        .collect(),
                    removing,
                }
            })
            .collect()
    }

    fn metadata(&self) -> ClusterMetadata {
        let topics = self.topics.lock().unwrap();
        ClusterMetadata {
            cluster_id: "memory".into(),
            controller: Some(THIS_BROKER),
            brokers: BROKERS
                .iter()
                .map(|&id| BrokerEndpoint {
                    id,
                    host: "127.0.0.1".into(),
                    port: 9090 + id,
                    rack: Some(format!("rack-{id}")),
                })
                .collect(),
            fenced: vec![BrokerEndpoint {
                id: FENCED_BROKER,
                host: "127.0.0.1".into(),
                port: 9090 + FENCED_BROKER,
                rack: None,
            }],
            topics: topics
                .iter()
                .enumerate()
                .map(|(i, (name, partitions))| TopicMetadata {
                    name: name.clone(),
                    id: i as u128 + 1,
                    partitions: partitions
                        .iter()
                        .enumerate()
                        .map(|(index, p)| PartitionMetadata {
                            index: index as i32,
                            leader: p.leader,
                            leader_epoch: p.leader.map(|_| LEADER_EPOCH),
                            replicas: BROKERS.to_vec(),
                            isr: p.leader.map(|_| BROKERS.to_vec()).unwrap_or_default(),
                            offline: Vec::new(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    fn find_group_coordinator(
        &self,
        group_id: &str,
    ) -> BoxFuture<Result<BrokerEndpoint, KafkaError>> {
        let found = if group_id == LOADING_GROUP {
            Err(KafkaError::new(
                COORDINATOR_NOT_AVAILABLE,
                format!("the coordinator of group {group_id:?} is loading"),
            ))
        } else {
            let this = self
                .metadata()
                .brokers
                .into_iter()
                .find(|b| b.id == THIS_BROKER);
            Ok(this.expect("this broker is in the cluster"))
        };
        ready(found)
    }

    fn group_request(
        &self,
        group_id: &str,
        event: Box<dyn FnOnce(RequestId) -> Event + Send>,
    ) -> BoxFuture<Result<Response, KafkaError>> {
        self.groups.request(group_id, event)
    }

    fn read_group(
        &self,
        group_id: &str,
        read: &mut dyn FnMut(&GroupCoordinator),
    ) -> Result<(), KafkaError> {
        self.groups.read(group_id, read)
    }

    fn list_groups(&self, states: &[&str]) -> Vec<ListedGroup> {
        let mut listed = Vec::new();
        self.groups
            .read("", &mut |c| listed = c.list_groups(states))
            .expect("reads of this broker's coordinator succeed");
        listed
    }

    fn max_message_bytes(&self, topic: &str) -> Option<usize> {
        self.has_topic(topic).then_some(MAX_MESSAGE_BYTES)
    }

    fn produce(
        &self,
        topic: &str,
        partition: i32,
        batches: Vec<Bytes>,
        _leader_only: bool,
    ) -> BoxFuture<Result<i64, KafkaError>> {
        // Appended at once, like the broker's hand-off to the partition leader.
        ready(self.led_here(topic, partition, |p| {
            let base = p.log_end;
            for produced in batches {
                let header = batch::parse_header(&produced).expect("validated by the handler");
                let mut bytes = produced.to_vec();
                batch::set_base_offset(&mut bytes, p.log_end);
                p.batches.push(StoredBatch {
                    base_offset: p.log_end,
                    records: i64::from(header.record_count),
                    bytes: Bytes::from(bytes),
                });
                p.log_end += i64::from(header.record_count);
            }
            if !p.hold_commits {
                p.commit();
            }
            Ok(base)
        }))
    }

    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<PartitionRead, KafkaError> {
        self.led_here(topic, partition, |p| {
            if !(0..=p.high_watermark).contains(&offset) {
                return Err(KafkaError::from_code(OFFSET_OUT_OF_RANGE));
            }
            let mut records = Vec::new();
            let committed = p.batches.iter().filter(|b| {
                b.base_offset + b.records > offset && b.base_offset + b.records <= p.high_watermark
            });
            for b in committed {
                // At least one batch, then only whole batches that fit.
                if !records.is_empty() && records.len() + b.bytes.len() > max_bytes {
                    break;
                }
                records.extend_from_slice(&b.bytes);
            }
            Ok(PartitionRead {
                records: Bytes::from(records),
                high_watermark: p.high_watermark,
                log_start_offset: 0,
                last_stable_offset: p.high_watermark,
                aborted: Vec::new(),
            })
        })
    }

    fn high_watermark_changes(&self, topic: &str, partition: i32) -> Option<watch::Receiver<u64>> {
        self.led_here(topic, partition, |p| Ok(p.high_watermark_tx.subscribe()))
            .ok()
    }

    fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> Result<(i64, i64), KafkaError> {
        self.led_here(topic, partition, |p| {
            Ok(match timestamp {
                -2 => (-1, 0),
                -1 => (-1, p.high_watermark),
                _ => (-1, -1),
            })
        })
    }

    fn create_topic(&self, request: NewTopic) -> BoxFuture<Result<CreatedTopic, KafkaError>> {
        let result = if self.has_topic(&request.name) {
            Err(KafkaError::new(
                TOPIC_ALREADY_EXISTS,
                format!("topic '{}' already exists", request.name),
            ))
        } else {
            let partitions = request
                .assignment
                .as_ref()
                .map_or(request.partitions.max(1) as usize, Vec::len);
            if !request.validate_only {
                self.add_topic(&request.name, &vec![Some(THIS_BROKER); partitions]);
            }
            let configs = request
                .configs
                .iter()
                .map(|(name, value)| ConfigEntry {
                    name: name.clone(),
                    value: Some(value.clone()),
                    source: ConfigSource::Topic,
                    config_type: ConfigType::String,
                    read_only: false,
                    documentation: String::new(),
                    synonyms: Vec::new(),
                })
                .collect();
            Ok(CreatedTopic {
                id: (!request.validate_only).then_some(CREATED_TOPIC_ID),
                partitions: partitions as i32,
                replication_factor: 1,
                configs,
            })
        };
        ready(result)
    }

    fn describe_quorum(&self) -> BoxFuture<Result<MetadataQuorum, KafkaError>> {
        let member = |id, log_end_offset| QuorumMember { id, log_end_offset };
        ready(Ok(MetadataQuorum {
            leader: THIS_BROKER,
            epoch: 4,
            high_watermark: 10,
            voters: vec![member(1, 10), member(2, 9), member(3, -1)],
            observers: Vec::new(),
        }))
    }

    fn create_partitions(
        &self,
        name: &str,
        total: i32,
        _assignment: Option<Vec<Vec<u64>>>,
        validate_only: bool,
    ) -> BoxFuture<Result<(), KafkaError>> {
        let mut topics = self.topics.lock().unwrap();
        let result = match topics.get_mut(name) {
            None => Err(KafkaError::new(
                UNKNOWN_TOPIC_OR_PARTITION,
                format!("topic '{name}' does not exist"),
            )),
            Some(partitions) => {
                if !validate_only {
                    while partitions.len() < total as usize {
                        partitions.push(MemoryPartition::new(Some(THIS_BROKER)));
                    }
                }
                Ok(())
            }
        };
        ready(result)
    }

    fn delete_topic(&self, name: &str) -> BoxFuture<Result<(), KafkaError>> {
        let removed = self.topics.lock().unwrap().remove(name);
        ready(removed.map(|_| ()).ok_or_else(|| {
            KafkaError::new(
                UNKNOWN_TOPIC_OR_PARTITION,
                format!("topic '{name}' does not exist"),
            )
        }))
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        change: AlterConfigs,
    ) -> BoxFuture<Result<(), KafkaError>> {
        self.altered
            .lock()
            .unwrap()
            .push((name.to_string(), change));
        ready(Ok(()))
    }

    fn delete_records(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> BoxFuture<Result<i64, KafkaError>> {
        ready(self.led_here(topic, partition, |p| match offset {
            -1 => Ok(p.high_watermark),
            o if (0..=p.high_watermark).contains(&o) => Ok(o),
            _ => Err(KafkaError::from_code(OFFSET_OUT_OF_RANGE)),
        }))
    }

    fn topic_configs(&self, name: &str) -> Option<Vec<ConfigEntry>> {
        let entry = |name: &str, value: String, config_type| ConfigEntry {
            name: name.into(),
            value: Some(value.clone()),
            source: ConfigSource::Default,
            config_type,
            read_only: false,
            documentation: format!("{name} of the memory cluster"),
            synonyms: vec![ConfigSynonym {
                name: name.into(),
                value: Some(value),
                source: ConfigSource::Default,
            }],
        };
        self.has_topic(name).then(|| {
            vec![
                entry("retention.ms", "604800000".into(), ConfigType::Long),
                entry(
                    "max.message.bytes",
                    MAX_MESSAGE_BYTES.to_string(),
                    ConfigType::Int,
                ),
            ]
        })
    }

    fn broker_configs(&self) -> Vec<ConfigEntry> {
        vec![ConfigEntry {
            name: "broker.id".into(),
            value: Some(THIS_BROKER.to_string()),
            source: ConfigSource::StaticBroker,
            config_type: ConfigType::Int,
            read_only: true,
            documentation: "this broker".into(),
            synonyms: Vec::new(),
        }]
    }
}
