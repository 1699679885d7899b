//! What the coordinator decides: responses to deliver (now, or to a request
//! parked earlier), records to persist, and timers to arm. The broker carries
//! them out in the order given.

use serde::{Deserialize, Serialize};

use crate::error::{code_of, CoordinatorError};
use crate::event::{Millis, RequestId};
use crate::offsets::CommittedOffset;
use crate::timer::TimerKey;

/// One thing the broker must do after an event is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// Answer a request: one from this event, or one parked by an earlier one.
    /// The broker drops a response whose request it does not hold (it was
    /// parked on another broker, or the client went away).
    Respond {
        /// The request answered.
        request: RequestId,
        /// The answer.
        response: Response,
    },
    /// The request stays unanswered for now (a JoinGroup waiting for the other
    /// members, a SyncGroup waiting for the leader). A later `Respond` with the
    /// same id answers it; the broker holds the connection's request until then.
    Park {
        /// The request held back.
        request: RequestId,
    },
    /// Persist a record to the coordinator's materialised state.
    Persist(Record),
    /// The coordinator wants to be ticked at `deadline`. Deadlines are
    /// absolute; arming a key again replaces its deadline; a timer cancelled
    /// later is not announced, and a tick with nothing due does nothing. The
    /// earliest pending deadline is always [`crate::GroupCoordinator::next_deadline`].
    ArmTimer {
        /// Which timer.
        key: TimerKey,
        /// When it fires, ms since the Unix epoch.
        deadline: Millis,
    },
}

/// One partition's outcome: its index and `None` for success.
pub type PartitionResult = (i32, Option<CoordinatorError>);

/// Per-partition outcomes by topic, in request order.
pub type TopicResults = Vec<(String, Vec<PartitionResult>)>;

/// A response to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// To a JoinGroup.
    JoinGroup(JoinGroupResponse),
    /// To a SyncGroup.
    SyncGroup(SyncGroupResponse),
    /// To a Heartbeat: `None` is success.
    Heartbeat(Option<CoordinatorError>),
    /// To a LeaveGroup.
    LeaveGroup(LeaveGroupResponse),
    /// To an OffsetCommit: per topic, per partition, `None` is success.
    OffsetCommit(TopicResults),
    /// To an OffsetDelete.
    OffsetDelete(OffsetDeleteResponse),
    /// To a DeleteGroups: per group, `None` is success.
    DeleteGroups(Vec<(String, Option<CoordinatorError>)>),
    /// To a ConsumerGroupHeartbeat.
    ConsumerGroupHeartbeat(crate::consumer::ConsumerGroupHeartbeatResponse),
}

impl Response {
    /// The top-level Kafka error code, for responses that have one (0 otherwise).
    pub fn error_code(&self) -> i16 {
        match self {
            Self::JoinGroup(r) => code_of(r.error.as_ref()),
            Self::SyncGroup(r) => code_of(r.error.as_ref()),
            Self::Heartbeat(e) => code_of(e.as_ref()),
            Self::LeaveGroup(r) => code_of(r.error.as_ref()),
            Self::OffsetDelete(r) => code_of(r.error.as_ref()),
            Self::ConsumerGroupHeartbeat(r) => code_of(r.error.as_ref()),
            Self::OffsetCommit(_) | Self::DeleteGroups(_) => 0,
        }
    }
}

/// A member as the leader sees it in its JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupMember {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub group_instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub metadata: Vec<u8>,
}

/// A JoinGroup response, shaped like the wire message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JoinGroupResponse {
    /// `None` is success. MEMBER_ID_REQUIRED still carries `member_id`.
    pub error: Option<CoordinatorError>,
    /// The generation joined (-1 on error).
    pub generation_id: i32,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The protocol the group chose.
    pub protocol_name: Option<String>,
    /// The leader's member id (empty on error).
    pub leader: String,
    /// v9+: the leader need not compute an assignment (static leader rejoin).
    pub skip_assignment: bool,
    /// The member's id (the new one for a new member).
    pub member_id: String,
    /// Every member with its metadata; only in the leader's response.
    pub members: Vec<JoinGroupMember>,
}

impl JoinGroupResponse {
    /// An error response naming `member_id`.
    pub(crate) fn error(member_id: impl Into<String>, error: CoordinatorError) -> Self {
        Self {
            error: Some(error),
            generation_id: -1,
            member_id: member_id.into(),
            ..Self::default()
        }
    }
}

/// A SyncGroup response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SyncGroupResponse {
    /// `None` is success.
    pub error: Option<CoordinatorError>,
    /// The group's protocol type (v5+).
    pub protocol_type: Option<String>,
    /// The group's protocol name (v5+).
    pub protocol_name: Option<String>,
    /// This member's assignment (empty on error).
    pub assignment: Vec<u8>,
}

impl SyncGroupResponse {
    /// An error response.
    pub(crate) fn error(error: CoordinatorError) -> Self {
        Self {
            error: Some(error),
            ..Self::default()
        }
    }
}

/// A LeaveGroup response: a group-level error or one result per member.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LeaveGroupResponse {
    /// Group-level error (unknown group); the member list is then empty.
    pub error: Option<CoordinatorError>,
    /// Per member, in request order: `None` is success.
    pub members: Vec<(crate::event::LeavingMember, Option<CoordinatorError>)>,
}

/// An OffsetDelete response.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OffsetDeleteResponse {
    /// Group-level error (unknown group, non-empty classic group).
    pub error: Option<CoordinatorError>,
    /// Per topic, per partition: `None` is success.
    pub topics: TopicResults,
}

/// A change to persist, mirroring Kafka's `__consumer_offsets` records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// The group's metadata changed: a new generation became Stable (with its
    /// assignment), the group became Empty, was created, or a static member's
    /// id was replaced. After a failover this is the last stable generation.
    GroupMetadata(GroupMetadataRecord),
    /// The group and all its committed offsets are gone.
    GroupDeleted {
        /// The group.
        group_id: String,
    },
    /// An offset was committed.
    OffsetCommitted {
        /// The group.
        group_id: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// What was committed.
        offset: CommittedOffset,
    },
    /// A committed offset was deleted (OffsetDelete or retention).
    OffsetRemoved {
        /// The group.
        group_id: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
}

/// A group's persisted metadata (Kafka's `GroupMetadataValue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMetadataRecord {
    /// The group.
    pub group_id: String,
    /// The generation.
    pub generation_id: i32,
    /// Protocol type, if the group ever had members.
    pub protocol_type: Option<String>,
    /// The chosen protocol (none when Empty).
    pub protocol_name: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// When the group entered its current state.
    pub state_timestamp: Millis,
    /// The members, by member id.
    pub members: Vec<MemberRecord>,
}

/// One member in a [`GroupMetadataRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// The member id.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub group_instance_id: Option<String>,
    /// Its client id.
    pub client_id: String,
    /// Its client host.
    pub client_host: String,
    /// Its session timeout.
    pub session_timeout_ms: u32,
    /// Its rebalance timeout.
    pub rebalance_timeout_ms: u32,
    /// Its metadata for the chosen protocol.
    pub subscription: Vec<u8>,
    /// Its assignment.
    pub assignment: Vec<u8>,
}
