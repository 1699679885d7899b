//! The JSON documents of the admin API, shared with the CLI.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /v1/cluster`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// The broker that answered.
    pub served_by: u64,
    /// The controller (metadata group leader), if one is known.
    pub controller: Option<u64>,
    /// The metadata group's Raft term.
    pub controller_term: u64,
    /// Every registered broker.
    pub brokers: Vec<BrokerView>,
    /// Every partition of every topic.
    pub partitions: Vec<PartitionView>,
}

/// A broker in [`ClusterView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerView {
    /// Broker id.
    pub id: u64,
    /// Whether the controller considers it live (not fenced).
    pub live: bool,
    /// Raft listener.
    pub raft_addr: String,
    /// Kafka listener.
    pub kafka_addr: String,
    /// Admin listener.
    pub admin_addr: String,
    /// Rack, if any.
    pub rack: Option<String>,
    /// Whether it is a voter of the metadata group.
    pub controller_voter: bool,
    /// Milliseconds since the answering broker last heard from it.
    pub last_heartbeat_ms_ago: Option<u64>,
}

/// A partition in [`ClusterView`] and [`TopicView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionView {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: u32,
    /// Raft group id.
    pub group: u64,
    /// Current leader, if known.
    pub leader: Option<u64>,
    /// Leader epoch (the partition group's Raft term), if a leader is known.
    pub leader_epoch: Option<u64>,
    /// Assigned replicas; the first is the preferred leader.
    pub replicas: Vec<u64>,
    /// Replicas the leader sees caught up.
    pub isr: Vec<u64>,
    /// This broker's replica of the partition, if it hosts one. For a
    /// `__consumer_offsets` partition, whose entries are group events rather
    /// than records, its offsets are Raft log indexes and `size_bytes` is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalReplica>,
    /// The replicas the partition is moving to, while a move is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reassigning_to: Option<Vec<u64>>,
}

/// A broker's own replica of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalReplica {
    /// Its first kept offset.
    pub log_start_offset: u64,
    /// Its high watermark (applied offsets).
    pub high_watermark: u64,
    /// Bytes of kept record batches.
    pub size_bytes: u64,
    /// Idle with its Raft heartbeats and election timer off (see the README's
    /// "How it works"); a new record or a silent leader wakes it.
    #[serde(default)]
    pub quiescent: bool,
    /// The index of the last entry in its Raft log, committed or not (entries
    /// appended but not yet committed are above the high watermark's entry).
    #[serde(default)]
    pub last_log_index: Option<u64>,
}

/// A change to a topic's config overrides (`POST /v1/topics/{name}/configs`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlterTopicConfigs {
    /// Keys to set.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Keys to reset to their defaults.
    #[serde(default)]
    pub delete: Vec<String>,
}

/// `POST /v1/topics/{name}/trim`: move a partition's log start forward.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrimPartition {
    /// The partition to trim.
    pub partition: u32,
    /// The new log start offset, at most the high watermark; -1 for the
    /// high watermark (delete everything).
    pub offset: i64,
}

/// The answer to a trim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrimmedPartition {
    pub topic: String,
    pub partition: u32,
    /// The log start offset after the trim.
    pub log_start_offset: u64,
}

/// A topic config value in [`TopicView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigValue {
    /// The effective value.
    pub value: String,
    /// Whether it is Kafka's default (not set on the topic).
    pub is_default: bool,
}

/// `GET /v1/topics/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicView {
    /// Topic name.
    pub name: String,
    /// Topic id, UUID formatted.
    pub id: String,
    /// Replication factor.
    pub replication_factor: u32,
    /// Effective configs.
    pub configs: BTreeMap<String, ConfigValue>,
    /// Partitions in index order.
    pub partitions: Vec<PartitionView>,
}

/// `POST /v1/topics` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopic {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: u32,
    /// Replication factor.
    pub replication_factor: u32,
    /// Config overrides.
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable upper-case code, e.g. `TOPIC_ALREADY_EXISTS`.
    pub code: String,
    /// Human-readable message naming the input.
    pub message: String,
}

/// Formats a topic id as a UUID.
pub fn format_topic_id(id: u128) -> String {
    let h = format!("{id:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A group in `GET /v1/groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSummary {
    /// The group id.
    pub group_id: String,
    /// Its state (Empty, Stable, PreparingRebalance, ...).
    pub state: String,
    /// Its protocol type (`consumer`; empty for standalone offsets).
    pub protocol_type: String,
    /// `classic` or `consumer` (KIP-848).
    pub group_type: String,
    /// The broker coordinating it.
    pub coordinator: u64,
}

/// `GET /v1/groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsView {
    /// Every group, by id.
    pub groups: Vec<GroupSummary>,
    /// Live brokers that did not answer (their groups are missing).
    pub unreachable: Vec<u64>,
}

/// A member in [`GroupDetail`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMemberView {
    /// Member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client host.
    pub client_host: String,
}

/// A committed offset in [`GroupDetail`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupOffsetView {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The committed offset (the next record to read).
    pub committed: i64,
    /// The commit's metadata string.
    pub metadata: String,
    /// When it was committed (ms since the epoch, the coordinator's clock).
    pub commit_timestamp_ms: i64,
}

/// `GET /v1/groups/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    /// The group id.
    pub group_id: String,
    /// Its state.
    pub state: String,
    /// Its protocol type.
    pub protocol_type: String,
    /// The chosen assignment protocol (while Stable).
    pub protocol: String,
    /// The broker coordinating it.
    pub coordinator: u64,
    /// Its members.
    pub members: Vec<GroupMemberView>,
    /// Its committed offsets, by topic and partition.
    pub offsets: Vec<GroupOffsetView>,
}

/// `POST /v1/cluster/rebalance-leaders`: which partitions' leaderships to
/// move back to their preferred replicas.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RebalanceLeaders {
    /// Only these topics' partitions; every topic when empty.
    pub topics: Vec<String>,
    /// How long each leadership transfer may take, in milliseconds (default 10 s).
    pub timeout_ms: Option<u64>,
}

/// One partition in [`RebalanceLeadersView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderElectionView {
    /// Topic.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// Its preferred replica.
    pub preferred: Option<u64>,
    /// Its leader before.
    pub previous_leader: Option<u64>,
    /// `moved`, `already_preferred`, `not_available`, `failed` or `unknown_partition`.
    pub outcome: String,
    /// Why it did not move.
    pub message: Option<String>,
}

/// The answer to `POST /v1/cluster/rebalance-leaders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebalanceLeadersView {
    /// Partitions whose leadership moved to the preferred replica.
    pub moved: usize,
    /// Partitions led by their preferred replica already.
    pub already_preferred: usize,
    /// Partitions that could not move now.
    pub not_moved: usize,
    /// Every partition asked about, except those led by their preferred replica already.
    pub partitions: Vec<LeaderElectionView>,
}

/// `POST /v1/topics/{name}/reassign`: move a partition to other replicas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reassign {
    /// Partition index.
    pub partition: u32,
    /// The replicas to move to, the first the preferred leader; `null`
    /// cancels the move in progress (the partition moves back).
    pub replicas: Option<Vec<u64>>,
}

/// One partition of a Kafka reassignment plan (`kafka-reassign-partitions.sh`'s JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPartition {
    /// Topic.
    pub topic: String,
    /// Partition index.
    pub partition: u32,
    /// The replicas to move to.
    pub replicas: Vec<u64>,
    /// Log directories per replica; Cairn has one per broker, so only `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dirs: Option<Vec<String>>,
}

/// A Kafka reassignment plan: `{"version":1,"partitions":[...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignmentPlan {
    /// Always 1.
    pub version: u32,
    /// The partitions to move.
    pub partitions: Vec<PlanPartition>,
}

/// A move in progress, in `GET /v1/reassignments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignmentView {
    /// Topic.
    pub topic: String,
    /// Partition index.
    pub partition: u32,
    /// Its replicas before the move.
    pub replicas: Vec<u64>,
    /// The replicas it moves to.
    pub target: Vec<u64>,
    /// Target replicas that are not replicas yet.
    pub adding: Vec<u64>,
    /// Replicas that are not in the target.
    pub removing: Vec<u64>,
    /// When the move began (ms since the Unix epoch).
    pub started_at_ms: u64,
}

/// `GET /v1/reassignments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignmentsView {
    /// Every move in progress, by topic and partition.
    pub reassignments: Vec<ReassignmentView>,
}

/// `GET /v1/brokers/{id}/decommission` (and the answer to decommission and
/// recommission requests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecommissionView {
    /// The broker.
    pub broker: u64,
    /// Whether it is still registered (a drained broker is unregistered).
    pub registered: bool,
    /// Whether it is being drained.
    pub decommissioning: bool,
    /// Replicas it still holds or is involved in moving.
    pub replicas_left: usize,
    /// Of those, how many are moving now.
    pub moving: usize,
    /// The partitions it still holds, as TOPIC-PARTITION.
    pub partitions: Vec<String>,
    /// Log bytes of the replicas it still holds, as the broker itself
    /// measures them: present only in its own answer (`null` from other
    /// brokers; `cairn broker decommission-status` asks it directly).
    #[serde(default)]
    pub bytes_held: Option<u64>,
}

/// A member of the metadata group in [`ControllerView`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumMemberView {
    /// Broker id.
    pub id: u64,
    /// The index after the last metadata entry it holds, as the controller
    /// knows it (`None`: nothing replicated to it yet).
    pub log_end: Option<u64>,
}

/// `GET /v1/controller`: the metadata group as the controller sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerView {
    /// The controller (the metadata group's leader).
    pub controller: u64,
    /// Its Raft term.
    pub term: u64,
    /// The index after the last entry the controller applied.
    pub high_watermark: u64,
    /// The voters.
    pub voters: Vec<QuorumMemberView>,
    /// The learners (every other registered broker).
    pub learners: Vec<QuorumMemberView>,
}
