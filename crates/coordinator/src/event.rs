//! The events the coordinator applies: one per client request that changes
//! state, plus [`Event::Tick`] for time. The broker builds them from decoded
//! Kafka requests (the API version shows up only as the flags it implies) and
//! replicates them as Raft entries; `now` comes with each entry.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (an entry's timestamp, or a deadline).
pub type Millis = u64;

/// Names one client request so a later decision can answer it.
///
/// Parked JoinGroup and SyncGroup requests are remembered in the state by this
/// id, and the state is replicated: ids must therefore be unique across every
/// broker that ever proposes to this state machine, not just one process. The
/// broker picks `origin` to name its incarnation as proposer (e.g. the Raft term
/// it leads in) and `seq` as a counter within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The proposer's incarnation (for instance the leader's Raft term).
    pub origin: u64,
    /// A counter within that incarnation.
    pub seq: u64,
}

impl RequestId {
    /// A request id from its two parts.
    pub const fn new(origin: u64, seq: u64) -> Self {
        Self { origin, seq }
    }
}

/// One protocol a member supports (for consumers: an assignor name and the
/// serialized subscription).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Protocol {
    /// Protocol name, e.g. `range` or `cooperative-sticky`.
    pub name: String,
    /// Opaque metadata (for consumers: `ConsumerProtocolSubscription`).
    pub metadata: Vec<u8>,
}

/// JoinGroup (all versions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupRequest {
    /// Names the request for its (possibly deferred) response.
    pub request: RequestId,
    /// The group to join.
    pub group_id: String,
    /// Empty for a member that has no id yet.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// The client's `client.id`.
    pub client_id: String,
    /// The client's address as the broker saw it.
    pub client_host: String,
    /// The member's session timeout.
    pub session_timeout_ms: i32,
    /// The member's rebalance timeout; negative (v0 sends none) means the session timeout.
    pub rebalance_timeout_ms: i32,
    /// Protocol type, `consumer` for consumers.
    pub protocol_type: String,
    /// Supported protocols in the member's order of preference.
    pub protocols: Vec<Protocol>,
    /// v4+: a member without an id is given one and asked to rejoin with it
    /// (MEMBER_ID_REQUIRED) before it enters the group.
    pub require_known_member_id: bool,
    /// v9+: the client understands `skip_assignment`.
    pub supports_skip_assignment: bool,
}

/// SyncGroup (all versions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupRequest {
    /// Names the request for its (possibly deferred) response.
    pub request: RequestId,
    /// The group.
    pub group_id: String,
    /// The generation the member joined.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// v5+: the protocol type the member expects, checked against the group's.
    pub protocol_type: Option<String>,
    /// v5+: the protocol name the member expects, checked against the group's.
    pub protocol_name: Option<String>,
    /// The leader's assignment: member id → assignment bytes. Empty from followers.
    pub assignments: Vec<(String, Vec<u8>)>,
}

/// Heartbeat (all versions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// Names the request for its response.
    pub request: RequestId,
    /// The group.
    pub group_id: String,
    /// The generation the member believes current.
    pub generation_id: i32,
    /// The member id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
}

/// One member leaving, as LeaveGroup v3+ lists them (v0–v2 send one, by member id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeavingMember {
    /// The member id; empty when an administrator removes a static member by instance id.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
}

/// LeaveGroup (all versions; v0–v2 carry one member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroupRequest {
    /// Names the request for its response.
    pub request: RequestId,
    /// The group.
    pub group_id: String,
    /// The members that leave.
    pub members: Vec<LeavingMember>,
}

/// One partition of an OffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCommit {
    /// Partition index.
    pub partition: i32,
    /// The offset to commit (the next record the consumer will read).
    pub offset: i64,
    /// Leader epoch of the last consumed record, if the client knows it.
    pub leader_epoch: Option<i32>,
    /// Client metadata string (null on the wire becomes `None`).
    pub metadata: Option<String>,
}

/// OffsetCommit (all versions). The broker checks that the topics and
/// partitions exist (UNKNOWN_TOPIC_OR_PARTITION) before it builds the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitRequest {
    /// Names the request for its response.
    pub request: RequestId,
    /// The group.
    pub group_id: String,
    /// The committing member's generation; -1 for a consumer outside group management.
    pub generation_id: i32,
    /// The member id; empty outside group management.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub group_instance_id: Option<String>,
    /// Partitions to commit, by topic.
    pub topics: Vec<(String, Vec<PartitionCommit>)>,
    /// v9+: a commit with a generation to a group that does not exist gets
    /// GROUP_ID_NOT_FOUND; older versions get ILLEGAL_GENERATION.
    pub group_id_not_found_supported: bool,
}

/// TxnOffsetCommit: offsets committed inside a transaction, held until
/// its marker (see [`crate::txn::pending_offsets`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnOffsetCommitRequest {
    /// The commit's group and partitions, checked as an OffsetCommit's are.
    pub commit: OffsetCommitRequest,
    /// The transactional producer.
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
}

/// A transaction marker reached this `__consumer_offsets` partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMarkerEvent {
    /// The transactional producer.
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
    /// Commit, or abort.
    pub commit: bool,
    /// The transaction coordinator's number of the transaction.
    pub txn_seq: u64,
}

/// OffsetDelete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetDeleteRequest {
    /// Names the request for its response.
    pub request: RequestId,
    /// The group.
    pub group_id: String,
    /// Partitions whose committed offsets go, by topic.
    pub topics: Vec<(String, Vec<i32>)>,
}

/// DeleteGroups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteGroupsRequest {
    /// Names the request for its response.
    pub request: RequestId,
    /// The groups to delete.
    pub group_ids: Vec<String>,
}

/// Something the coordinator applies. Reads (OffsetFetch, DescribeGroups,
/// ListGroups, ConsumerGroupDescribe) are not events: they are methods on
/// the state. Entries on disk name variants by position: new ones go last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A member joins or rejoins a group.
    JoinGroup(JoinGroupRequest),
    /// A member sends its SyncGroup (the leader with the assignment).
    SyncGroup(SyncGroupRequest),
    /// A member keeps its session alive.
    Heartbeat(HeartbeatRequest),
    /// Members leave a group.
    LeaveGroup(LeaveGroupRequest),
    /// Offsets are committed.
    OffsetCommit(OffsetCommitRequest),
    /// Committed offsets are deleted.
    OffsetDelete(OffsetDeleteRequest),
    /// Groups are deleted.
    DeleteGroups(DeleteGroupsRequest),
    /// Time passed: fire every timer whose deadline is at or before `now`.
    /// Every other event fires them too before it is handled, so a tick only
    /// matters when nothing else arrives.
    Tick,
    /// The leader's settings replace the shard's: a new leader whose broker
    /// config differs from the applied one proposes this before it serves,
    /// so every replica decides with the same settings. Settings that fail
    /// [`GroupCoordinatorConfig::validate`] are ignored.
    ///
    /// [`GroupCoordinatorConfig::validate`]: crate::GroupCoordinatorConfig::validate
    Configure(crate::GroupCoordinatorConfig),
    /// A consumer (KIP-848) group member heartbeats: joins, reconciles, or
    /// leaves (epoch -1, or -2 for a static member leaving for a while).
    ConsumerGroupHeartbeat(crate::consumer::ConsumerGroupHeartbeatRequest),
    /// The leader's consumer group settings replace the shard's (as
    /// [`Event::Configure`] does for the rest). Settings that fail
    /// [`ConsumerGroupConfig::validate`] are ignored.
    ///
    /// [`ConsumerGroupConfig::validate`]: crate::consumer::ConsumerGroupConfig::validate
    ConfigureConsumerGroups(crate::consumer::ConsumerGroupConfig),
    /// Offsets committed inside a transaction (new variants go last: the
    /// variant index is in the Raft log).
    TxnOffsetCommit(TxnOffsetCommitRequest),
    /// A transaction marker: releases (commit) or drops (abort) the
    /// producer's transactional offsets.
    TxnMarker(TxnMarkerEvent),
    /// A request to the shard's transaction coordinator (a
    /// `__transaction_state` partition runs the same machine as a
    /// `__consumer_offsets` one); the group coordinator ignores it.
    Txn(crate::txn::TxnEvent),
}
