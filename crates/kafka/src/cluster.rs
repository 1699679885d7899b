//! What the Kafka handlers need to know about the cluster, as plain data. The
//! broker builds a [`ClusterMetadata`] snapshot from its metadata catalogue and
//! the leaders it learned by dissemination.

use crate::error::KafkaError;

/// A live broker's Kafka listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerEndpoint {
    /// Broker id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if configured.
    pub rack: Option<String>,
}

/// One partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// Partition index.
    pub index: i32,
    /// Current leader, if known.
    pub leader: Option<i32>,
    /// Leader epoch (Raft term), if a leader is known.
    pub leader_epoch: Option<i32>,
    /// Assigned replicas.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Replicas on brokers that are offline.
    pub offline: Vec<i32>,
}

/// One topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    /// Topic name.
    pub name: String,
    /// Topic id.
    pub id: u128,
    /// Partitions in index order.
    pub partitions: Vec<PartitionMetadata>,
}

/// A point-in-time view of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// Cluster id reported to clients.
    pub cluster_id: String,
    /// The controller, if known.
    pub controller: Option<i32>,
    /// Every live broker.
    pub brokers: Vec<BrokerEndpoint>,
    /// Registered brokers that are fenced: not heard from within the
    /// session timeout (DescribeCluster v2 lists them when asked).
    pub fenced: Vec<BrokerEndpoint>,
    /// Every topic, by name order.
    pub topics: Vec<TopicMetadata>,
}

/// One partition replica in a broker's log directory (DescribeLogDirs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogDirReplica {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Bytes of its kept record batches.
    pub size_bytes: i64,
}

/// A broker's log directory: where its data lives and the replicas in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogDir {
    /// The directory.
    pub path: String,
    /// The partition replicas this broker holds, by topic and partition.
    pub replicas: Vec<LogDirReplica>,
    /// The size of the file system holding it, in bytes (-1 if unknown).
    pub total_bytes: i64,
    /// Bytes free for it there (-1 if unknown).
    pub usable_bytes: i64,
}

/// A boxed future, so that the trait stays object safe.
pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// What a fetch read of one partition returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionRead {
    /// Batches with their assigned base offsets, up to the high watermark.
    pub records: bytes::Bytes,
    /// One past the last committed offset.
    pub high_watermark: i64,
    /// The first offset kept.
    pub log_start_offset: i64,
    /// The last stable offset: the first offset of the oldest transaction
    /// still open (the high watermark when none is).
    pub last_stable_offset: i64,
    /// For a `read_committed` read, the aborted transactions among the
    /// records returned: (producer id, first offset).
    pub aborted: Vec<(i64, i64)>,
}

/// One idempotent producer a partition knows (DescribeProducers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveProducer {
    /// Producer id.
    pub producer_id: i64,
    /// Its current epoch.
    pub epoch: i16,
    /// The sequence of its last record written (-1 if none).
    pub last_sequence: i32,
    /// The largest timestamp of its batches.
    pub last_timestamp: i64,
    /// The first offset of its transaction open in the partition, -1 if none.
    pub current_txn_start_offset: i64,
}

/// A config change for [`KafkaCluster::alter_topic_configs`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlterConfigs {
    /// Keys to set.
    pub set: std::collections::BTreeMap<String, String>,
    /// Keys to reset to their defaults.
    pub delete: Vec<String>,
    /// Reset every key not in `set` (AlterConfigs) instead of only `delete`.
    pub replace: bool,
    /// Only validate.
    pub validate_only: bool,
}

/// Where a described config's value comes from (DescribeConfigs v1+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic (Kafka's DYNAMIC_TOPIC_CONFIG).
    Topic = 1,
    /// Set in the broker's config file, flags or environment.
    StaticBroker = 4,
    /// Nobody set it: the default.
    Default = 5,
}

/// A config's value type as DescribeConfigs v3+ reports it (Kafka's `ConfigType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false`.
    Boolean = 1,
    /// Any string.
    String = 2,
    /// A 32-bit integer.
    Int = 3,
    /// A 16-bit integer.
    Short = 4,
    /// A 64-bit integer.
    Long = 5,
    /// A floating-point number.
    Double = 6,
    /// A comma-separated list.
    List = 7,
}

/// Another place the same setting can come from, lower in precedence
/// (DescribeConfigs' synonyms: a topic's `retention.ms`, the broker's
/// `log.retention.ms`, Kafka's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSynonym {
    /// The config's name at that level.
    pub name: String,
    /// Its value there.
    pub value: Option<String>,
    /// The level.
    pub source: ConfigSource,
}

/// One described config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    /// Kafka's name for it.
    pub name: String,
    /// Its effective value.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Its value type.
    pub config_type: ConfigType,
    /// Whether AlterConfigs/IncrementalAlterConfigs can change it.
    pub read_only: bool,
    /// What it does, and what Cairn does with it.
    pub documentation: String,
    /// Its synonyms, the effective one first, in precedence order.
    pub synonyms: Vec<ConfigSynonym>,
}

/// A partition whose replicas are moving (ListPartitionReassignments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovingPartition {
    /// Topic.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The target replicas, then those being removed.
    pub replicas: Vec<i32>,
    /// Target replicas that are not replicas yet.
    pub adding: Vec<i32>,
    /// Replicas not in the target.
    pub removing: Vec<i32>,
}

/// One partition's answer to a request about many (a leader election, a
/// replica move): topic, partition, and `Ok` or the Kafka error.
pub type PartitionOutcome = (String, i32, Result<(), KafkaError>);

/// The broker side of the Kafka adapter. Errors carry the Kafka error code
/// the client gets ([`KafkaError`]).
pub trait KafkaCluster: Send + Sync + 'static {
    /// The current view of the cluster.
    fn metadata(&self) -> ClusterMetadata;

    /// Resolves once no partition of `topics` (`None`: of every topic) is
    /// between a leader found gone and its successor, or after a bound the
    /// broker chooses; Metadata waits for it so that a client that lost its
    /// leader's connection learns the new leader in its first refresh.
    fn leaders_settled(&self, topics: Option<Vec<String>>) -> BoxFuture<()> {
        let _ = topics;
        Box::pin(std::future::ready(()))
    }

    /// This broker's id.
    fn broker_id(&self) -> i32;

    /// The leader epoch (the Raft term) of a partition this broker leads.
    /// Errors: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER.
    fn leader_epoch(&self, topic: &str, partition: i32) -> Result<i32, KafkaError>;

    /// OffsetForLeaderEpoch on a partition this broker leads: the largest
    /// epoch at most `epoch` that wrote records, and the offset after them
    /// (see `cairn_storage::partition::epoch_end`); (-1, -1) for an epoch
    /// newer than the leader's. Errors as [`KafkaCluster::leader_epoch`].
    fn end_offset_for_epoch(
        &self,
        topic: &str,
        partition: i32,
        epoch: i32,
    ) -> Result<(i32, i64), KafkaError>;

    /// The name of the topic with id `id`, if there is one.
    fn topic_name(&self, id: u128) -> Option<String> {
        self.metadata()
            .topics
            .into_iter()
            .find(|t| t.id == id)
            .map(|t| t.name)
    }

    /// The broker that coordinates consumer group `group_id` (FindCoordinator
    /// with key type 0): the leader of the `__consumer_offsets` partition the
    /// group hashes to. Creates that topic on first use. Errors:
    /// COORDINATOR_NOT_AVAILABLE while the topic or its leader is not there yet.
    fn find_group_coordinator(
        &self,
        group_id: &str,
    ) -> BoxFuture<Result<BrokerEndpoint, KafkaError>> {
        let _ = group_id;
        Box::pin(std::future::ready(Err(KafkaError::from_code(
            crate::error_code::COORDINATOR_NOT_AVAILABLE,
        ))))
    }

    /// Carries a group event to this broker's coordinator of `group_id`:
    /// `event` is built with the request id the coordinator will answer under;
    /// the future resolves with that answer (possibly after other members'
    /// requests, for a parked JoinGroup or SyncGroup). Errors:
    /// NOT_COORDINATOR if this broker does not coordinate the group,
    /// COORDINATOR_LOAD_IN_PROGRESS while its partition is catching up,
    /// COORDINATOR_NOT_AVAILABLE / REQUEST_TIMED_OUT when the outcome is unknown.
    fn group_request(
        &self,
        group_id: &str,
        event: Box<dyn FnOnce(cairn_coordinator::RequestId) -> cairn_coordinator::Event + Send>,
    ) -> BoxFuture<Result<cairn_coordinator::Response, KafkaError>> {
        let _ = (group_id, event);
        Box::pin(std::future::ready(Err(KafkaError::from_code(
            crate::error_code::NOT_COORDINATOR,
        ))))
    }

    /// A read of this broker's coordinator of `group_id` (OffsetFetch,
    /// DescribeGroups): `read` runs on the coordinator's current state. Errors
    /// as [`KafkaCluster::group_request`].
    fn read_group(
        &self,
        group_id: &str,
        read: &mut dyn FnMut(&cairn_coordinator::GroupCoordinator),
    ) -> Result<(), KafkaError> {
        let _ = (group_id, read);
        Err(KafkaError::from_code(crate::error_code::NOT_COORDINATOR))
    }

    /// Every group coordinated by this broker in one of `states` (all when
    /// empty), for ListGroups.
    fn list_groups(&self, states: &[&str]) -> Vec<cairn_coordinator::ListedGroup> {
        let _ = states;
        Vec::new()
    }

    /// A new producer id, epoch 0, for an idempotent producer (InitProducerId
    /// without a transactional id); ids come from blocks the controller
    /// allocates and are never handed out twice. Errors:
    /// COORDINATOR_NOT_AVAILABLE while no controller can allocate a block.
    fn init_producer_id(&self) -> BoxFuture<Result<(i64, i16), KafkaError>> {
        Box::pin(std::future::ready(Err(KafkaError::new(
            crate::error_code::COORDINATOR_NOT_AVAILABLE,
            "this broker does not hand out producer ids",
        ))))
    }

    /// The broker that coordinates `transactional_id` (FindCoordinator with
    /// key type 1): the leader of the `__transaction_state` partition the
    /// id hashes to. Creates that topic on first use. Errors:
    /// COORDINATOR_NOT_AVAILABLE while the topic or its leader is not there.
    fn find_txn_coordinator(
        &self,
        transactional_id: &str,
    ) -> BoxFuture<Result<BrokerEndpoint, KafkaError>> {
        let _ = transactional_id;
        Box::pin(std::future::ready(Err(KafkaError::new(
            crate::error_code::COORDINATOR_NOT_AVAILABLE,
            "this broker does not coordinate transactions",
        ))))
    }

    /// Carries a transaction coordinator event (InitProducerId with a
    /// transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn) to
    /// this broker's coordinator of `transactional_id` and answers the
    /// coordinator's answer. Errors: NOT_COORDINATOR if this broker does
    /// not coordinate the id, COORDINATOR_LOAD_IN_PROGRESS while its
    /// partition catches up, COORDINATOR_NOT_AVAILABLE / REQUEST_TIMED_OUT
    /// when the outcome is unknown.
    fn txn_request(
        &self,
        transactional_id: &str,
        event: cairn_coordinator::txn::TxnEvent,
    ) -> BoxFuture<Result<cairn_coordinator::txn::TxnAnswer, KafkaError>> {
        let _ = (transactional_id, event);
        Box::pin(std::future::ready(Err(KafkaError::from_code(
            crate::error_code::NOT_COORDINATOR,
        ))))
    }

    /// The state of `transactional_id` at this broker's coordinator of it
    /// (DescribeTransactions); `Ok(None)` if it knows no such id. Errors as
    /// [`KafkaCluster::txn_request`].
    fn describe_txn(
        &self,
        transactional_id: &str,
    ) -> Result<Option<cairn_coordinator::txn::TxnMetadata>, KafkaError> {
        let _ = transactional_id;
        Err(KafkaError::from_code(crate::error_code::NOT_COORDINATOR))
    }

    /// Every transactional id coordinated by this broker, with its state
    /// (ListTransactions).
    fn list_txns(&self) -> Vec<(String, cairn_coordinator::txn::TxnMetadata)> {
        Vec::new()
    }

    /// How many partitions `topic` has; `None` if there is no such topic.
    fn partition_count(&self, topic: &str) -> Option<i32> {
        self.metadata()
            .topics
            .into_iter()
            .find(|t| t.name == topic)
            .map(|t| t.partitions.len() as i32)
    }

    /// The idempotent producers of a partition this broker leads
    /// (DescribeProducers). Errors: UNKNOWN_TOPIC_OR_PARTITION,
    /// NOT_LEADER_OR_FOLLOWER.
    fn describe_producers(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Vec<ActiveProducer>, KafkaError> {
        let _ = (topic, partition);
        Err(KafkaError::from_code(
            crate::error_code::NOT_LEADER_OR_FOLLOWER,
        ))
    }

    /// The topic's `max.message.bytes`, or `None` if the topic does not exist.
    fn max_message_bytes(&self, topic: &str) -> Option<usize>;

    /// Hands validated batches to the partition's leader at once (so that the
    /// requests of one connection keep their order); the future resolves with
    /// the base offset of the first batch once the write is committed
    /// (`leader_only == false`, acks=all) or appended to the leader's log
    /// (`leader_only == true`, acks=1).
    fn produce(
        &self,
        topic: &str,
        partition: i32,
        batches: Vec<bytes::Bytes>,
        leader_only: bool,
    ) -> BoxFuture<Result<i64, KafkaError>>;

    /// Reads committed batches from `offset` on the partition leader.
    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<PartitionRead, KafkaError>;

    /// [`KafkaCluster::read`], or with `committed` Kafka's `read_committed`:
    /// only up to the last stable offset, listing the aborted transactions
    /// among the records read.
    fn read_isolated(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
        committed: bool,
    ) -> Result<PartitionRead, KafkaError> {
        let _ = committed;
        self.read(topic, partition, offset, max_bytes)
    }

    /// [`KafkaCluster::list_offset`], where with `committed` the latest
    /// offset is the last stable offset.
    fn list_offset_isolated(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
        committed: bool,
    ) -> Result<(i64, i64), KafkaError> {
        let _ = committed;
        self.list_offset(topic, partition, timestamp)
    }

    /// A receiver that changes when the partition's high watermark moves.
    fn high_watermark_changes(
        &self,
        topic: &str,
        partition: i32,
    ) -> Option<tokio::sync::watch::Receiver<u64>>;

    /// ListOffsets: -2 earliest, -1 latest, otherwise the first offset with a
    /// timestamp at or after `timestamp`. Returns (timestamp, offset).
    fn list_offset(
        &self,
        topic: &str,
        partition: i32,
        timestamp: i64,
    ) -> Result<(i64, i64), KafkaError>;

    /// Creates a topic (or only validates the request); answers what was
    /// (or would be) created.
    fn create_topic(&self, request: NewTopic) -> BoxFuture<Result<CreatedTopic, KafkaError>>;

    /// The metadata group as the controller sees it, asked of the controller
    /// wherever it is. Errors: NOT_CONTROLLER / REQUEST_TIMED_OUT while none
    /// answers.
    fn describe_quorum(&self) -> BoxFuture<Result<MetadataQuorum, KafkaError>> {
        Box::pin(std::future::ready(Err(KafkaError::from_code(
            crate::error_code::NOT_CONTROLLER,
        ))))
    }

    /// This broker's log directory and the replicas it holds (DescribeLogDirs).
    fn log_dir(&self) -> LogDir {
        LogDir {
            total_bytes: -1,
            usable_bytes: -1,
            ..LogDir::default()
        }
    }

    /// Starts creating `name`, which a Metadata request asked for and which
    /// does not exist, with the broker's default partitions and replication
    /// factor (Kafka's topic auto-creation), without waiting for it. Returns
    /// the topic error code to answer: LEADER_NOT_AVAILABLE while it is being
    /// created, INVALID_TOPIC_EXCEPTION for a name no topic may have; `None`
    /// when this broker does not auto-create (the client gets
    /// UNKNOWN_TOPIC_OR_PARTITION).
    fn auto_create_topic(&self, name: &str) -> Option<i16> {
        let _ = name;
        None
    }

    /// Moves the leadership of `partitions` (every partition when `None`)
    /// back to their preferred replicas, each transfer within `timeout`;
    /// one answer per partition, in request order: `Ok` once the preferred
    /// replica leads, or ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE,
    /// UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT with a message.
    fn elect_preferred_leaders(
        &self,
        partitions: Option<Vec<(String, i32)>>,
        timeout: std::time::Duration,
    ) -> BoxFuture<Vec<PartitionOutcome>>;

    /// Starts, redirects or (with `None`) cancels the replica moves of
    /// these partitions, in order; with `allow_replication_factor_change`
    /// false a target of another size is INVALID_REPLICATION_FACTOR.
    fn alter_partition_reassignments(
        &self,
        moves: Vec<(String, i32, Option<Vec<i32>>)>,
        allow_replication_factor_change: bool,
    ) -> BoxFuture<Vec<PartitionOutcome>>;

    /// The replica moves in progress.
    fn partition_reassignments(&self) -> Vec<MovingPartition>;

    /// Grows a topic to `total` partitions (or only validates the request),
    /// placing the new ones by `assignment` when given (one broker list per
    /// new partition).
    fn create_partitions(
        &self,
        name: &str,
        total: i32,
        assignment: Option<Vec<Vec<u64>>>,
        validate_only: bool,
    ) -> BoxFuture<Result<(), KafkaError>>;

    /// Deletes a topic.
    fn delete_topic(&self, name: &str) -> BoxFuture<Result<(), KafkaError>>;

    /// Changes a topic's config overrides: sets `set`, resets `delete` to
    /// defaults; with `replace`, every override not in `set` is reset too.
    fn alter_topic_configs(
        &self,
        name: &str,
        change: AlterConfigs,
    ) -> BoxFuture<Result<(), KafkaError>>;

    /// Deletes the records of a partition below `offset` (-1: the high
    /// watermark) by moving its log start; returns the new log start.
    fn delete_records(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> BoxFuture<Result<i64, KafkaError>>;

    /// A topic's effective configs, every key Cairn knows; `None` if the
    /// topic does not exist.
    fn topic_configs(&self, name: &str) -> Option<Vec<ConfigEntry>>;

    /// This broker's configs.
    fn broker_configs(&self) -> Vec<ConfigEntry>;
}

/// One member of the metadata group and how far its log reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumMember {
    /// Its broker id.
    pub id: i32,
    /// The offset after its last entry as the leader knows it (-1: unknown).
    pub log_end_offset: i64,
}

/// The metadata group as its leader, the controller, sees it (DescribeQuorum).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataQuorum {
    /// The controller.
    pub leader: i32,
    /// Its Raft term.
    pub epoch: i32,
    /// The offset after the last entry the controller applied.
    pub high_watermark: i64,
    /// The voting members.
    pub voters: Vec<QuorumMember>,
    /// The members that replicate without voting.
    pub observers: Vec<QuorumMember>,
}

/// A topic as CreateTopics created it (v5+ report it back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedTopic {
    /// Its id; `None` when only validated.
    pub id: Option<u128>,
    /// Its partition count.
    pub partitions: i32,
    /// Its replication factor.
    pub replication_factor: i16,
    /// Its configs, as DescribeConfigs would describe them.
    pub configs: Vec<ConfigEntry>,
}

/// A CreateTopics request for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTopic {
    /// Topic name.
    pub name: String,
    /// Partition count (-1: the broker default).
    pub partitions: i32,
    /// Replication factor (-1: the broker default).
    pub replication_factor: i16,
    /// Config overrides.
    pub configs: std::collections::BTreeMap<String, String>,
    /// Only check that the topic could be created.
    pub validate_only: bool,
    /// A manual replica assignment: one broker list per partition, in
    /// partition order (then `partitions` and `replication_factor` are -1).
    pub assignment: Option<Vec<Vec<u64>>>,
}
