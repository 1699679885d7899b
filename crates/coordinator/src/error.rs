//! The errors the coordinator answers with, each mapped to the Kafka error
//! code a client acts on ([`CoordinatorError::code`]). The numbers live in
//! `cairn_common::error_code`, the one table every crate uses.
//!
//! Every error is deterministic: it depends only on the state and the event,
//! so every replica that applies the same entry reaches the same error.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::group::GroupState;

/// Kafka protocol error codes: the one table in `cairn_common`.
pub use cairn_common::error_code;

/// An error of the group coordinator, as a client will see it.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum CoordinatorError {
    /// The member id (or the group) is unknown to the coordinator.
    #[error("unknown member id {member_id:?} in group {group_id:?}")]
    UnknownMemberId {
        /// The group named by the request.
        group_id: String,
        /// The member id the request carried.
        member_id: String,
    },
    /// The request's generation is not the group's current one.
    #[error("generation {requested} of member {member_id:?} is not generation {current} of group {group_id:?}")]
    IllegalGeneration {
        /// The group named by the request.
        group_id: String,
        /// The member id the request carried.
        member_id: String,
        /// The generation the request carried.
        requested: i32,
        /// The group's current generation.
        current: i32,
    },
    /// The group is rebalancing; the member must rejoin.
    #[error("group {group_id:?} is rebalancing; rejoin")]
    RebalanceInProgress {
        /// The group.
        group_id: String,
    },
    /// The member must send JoinGroup again with the member id it was given.
    #[error("group {group_id:?} assigned member id {member_id:?}; rejoin with it")]
    MemberIdRequired {
        /// The group.
        group_id: String,
        /// The member id the client must use.
        member_id: String,
    },
    /// The `group.instance.id` now belongs to another member id.
    #[error("group.instance.id {group_instance_id:?} of group {group_id:?} belongs to member {owner:?}, not {member_id:?}")]
    FencedInstanceId {
        /// The group.
        group_id: String,
        /// The static member's instance id.
        group_instance_id: String,
        /// The member id the request carried.
        member_id: String,
        /// The member id that owns the instance id now.
        owner: String,
    },
    /// The member's protocol type or protocols do not fit the group.
    #[error("inconsistent group protocol for group {group_id:?}: {reason}")]
    InconsistentGroupProtocol {
        /// The group.
        group_id: String,
        /// What did not match.
        reason: String,
    },
    /// The group id is empty.
    #[error("invalid group id {group_id:?}")]
    InvalidGroupId {
        /// The group id the request carried.
        group_id: String,
    },
    /// The session timeout is outside `group.min.session.timeout.ms..=group.max.session.timeout.ms`.
    #[error("session timeout {session_timeout_ms} ms is outside {min_ms}..={max_ms} ms")]
    InvalidSessionTimeout {
        /// The session timeout the request carried.
        session_timeout_ms: i32,
        /// `group.min.session.timeout.ms`.
        min_ms: u32,
        /// `group.max.session.timeout.ms`.
        max_ms: u32,
    },
    /// The group already has `group.max.size` members.
    #[error("group {group_id:?} already has its maximum of {max_size} members")]
    GroupMaxSizeReached {
        /// The group.
        group_id: String,
        /// `group.max.size`.
        max_size: u32,
    },
    /// The group does not exist.
    #[error("group {group_id:?} does not exist")]
    GroupIdNotFound {
        /// The group id the request carried.
        group_id: String,
    },
    /// The group still has members (it is not Empty).
    #[error("group {group_id:?} is {state} and has members")]
    NonEmptyGroup {
        /// The group.
        group_id: String,
        /// Its state.
        state: GroupState,
    },
    /// The committed metadata string is too long.
    #[error("metadata of {size} bytes for {topic}-{partition} in group {group_id:?} exceeds offset.metadata.max.bytes {max}")]
    OffsetMetadataTooLarge {
        /// The group.
        group_id: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// Length of the metadata in bytes.
        size: usize,
        /// `offset.metadata.max.bytes`.
        max: usize,
    },
    /// Offsets of a topic the group consumes cannot be deleted.
    #[error("group {group_id:?} is subscribed to topic {topic:?}")]
    GroupSubscribedToTopic {
        /// The group.
        group_id: String,
        /// The topic.
        topic: String,
    },
    /// The coordinator cannot serve the group right now.
    #[error("coordinator not available: {reason}")]
    CoordinatorNotAvailable {
        /// Why.
        reason: String,
    },
    /// A request the protocol does not allow in this situation.
    #[error("unexpected request: {reason}")]
    UnknownServerError {
        /// What was unexpected.
        reason: String,
    },
    /// A configuration value is out of range; never sent to a client.
    #[error("invalid coordinator config {field}: {reason}")]
    InvalidConfig {
        /// The config key.
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// KIP-848: the member's epoch is not the one the coordinator holds; the
    /// member must give up its partitions and rejoin with epoch 0.
    #[error("member {member_id:?} of group {group_id:?} sent epoch {received}, the coordinator holds epoch {current}; rejoin")]
    FencedMemberEpoch {
        /// The group.
        group_id: String,
        /// The member id the request carried.
        member_id: String,
        /// The epoch the request carried.
        received: i32,
        /// The member's epoch at the coordinator.
        current: i32,
    },
    /// KIP-848: a static member joins with an instance id another member
    /// still holds (that member has not left with epoch -2).
    #[error("group.instance.id {group_instance_id:?} of group {group_id:?} is still held by member {owner:?}")]
    UnreleasedInstanceId {
        /// The group.
        group_id: String,
        /// The instance id.
        group_instance_id: String,
        /// The member that holds it.
        owner: String,
    },
    /// KIP-848: the member asks for a server-side assignor that does not exist.
    #[error("server assignor {assignor:?} is not supported (supported: {})", supported.join(", "))]
    UnsupportedAssignor {
        /// The assignor asked for.
        assignor: String,
        /// The assignors there are.
        supported: Vec<String>,
    },
    /// KIP-848: an offset commit or fetch carried another member epoch than
    /// the member's current one.
    #[error("member {member_id:?} of group {group_id:?} sent epoch {received}, its current epoch is {current}")]
    StaleMemberEpoch {
        /// The group.
        group_id: String,
        /// The member id the request carried.
        member_id: String,
        /// The epoch the request carried.
        received: i32,
        /// The member's current epoch.
        current: i32,
    },
    /// A request whose fields contradict the protocol (a join without a
    /// subscription, an empty member id where one is required, ...).
    #[error("invalid request: {reason}")]
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The group exists but speaks the other protocol: a consumer (KIP-848)
    /// heartbeat to a classic group with members.
    #[error("group {group_id:?} is a {protocol} group")]
    OtherProtocolGroup {
        /// The group.
        group_id: String,
        /// The protocol the group speaks (`classic` or `consumer`).
        protocol: String,
    },
}

impl CoordinatorError {
    /// The Kafka error code a client receives for this error.
    pub fn code(&self) -> i16 {
        use error_code::*;
        match self {
            Self::UnknownMemberId { .. } => UNKNOWN_MEMBER_ID,
            Self::IllegalGeneration { .. } => ILLEGAL_GENERATION,
            Self::RebalanceInProgress { .. } => REBALANCE_IN_PROGRESS,
            Self::MemberIdRequired { .. } => MEMBER_ID_REQUIRED,
            Self::FencedInstanceId { .. } => FENCED_INSTANCE_ID,
            Self::InconsistentGroupProtocol { .. } => INCONSISTENT_GROUP_PROTOCOL,
            Self::InvalidGroupId { .. } => INVALID_GROUP_ID,
            Self::InvalidSessionTimeout { .. } => INVALID_SESSION_TIMEOUT,
            Self::GroupMaxSizeReached { .. } => GROUP_MAX_SIZE_REACHED,
            Self::GroupIdNotFound { .. } => GROUP_ID_NOT_FOUND,
            Self::NonEmptyGroup { .. } => NON_EMPTY_GROUP,
            Self::OffsetMetadataTooLarge { .. } => OFFSET_METADATA_TOO_LARGE,
            Self::GroupSubscribedToTopic { .. } => GROUP_SUBSCRIBED_TO_TOPIC,
            Self::CoordinatorNotAvailable { .. } => COORDINATOR_NOT_AVAILABLE,
            Self::UnknownServerError { .. } | Self::InvalidConfig { .. } => UNKNOWN_SERVER_ERROR,
            Self::FencedMemberEpoch { .. } => FENCED_MEMBER_EPOCH,
            Self::UnreleasedInstanceId { .. } => UNRELEASED_INSTANCE_ID,
            Self::UnsupportedAssignor { .. } => UNSUPPORTED_ASSIGNOR,
            Self::StaleMemberEpoch { .. } => STALE_MEMBER_EPOCH,
            Self::InvalidRequest { .. } => INVALID_REQUEST,
            Self::OtherProtocolGroup { .. } => GROUP_ID_NOT_FOUND,
        }
    }
}

/// The error code of an optional error: [`error_code::NONE`] for `None`.
pub fn code_of(error: Option<&CoordinatorError>) -> i16 {
    error.map_or(error_code::NONE, CoordinatorError::code)
}
