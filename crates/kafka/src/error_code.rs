//! Every Kafka protocol error code Cairn sends. The numbers are defined once,
//! in `cairn_common::error_code` (so the coordinator, which knows nothing of
//! the wire, uses the same ones), and re-exported here; a test checks each
//! against `kafka-protocol`'s table ([`ResponseError`]), so none can drift
//! from the protocol.
//!
//! The codes are plain `i16`, the type of every `error_code` field on the
//! wire. [`crate::KafkaError`] pairs one with a message.

use kafka_protocol::ResponseError;

pub use cairn_common::error_code::*;

/// Kafka's name for `code` (`NotLeaderOrFollower`), `"None"` for [`NONE`],
/// or `error code N` if the protocol table does not know it.
pub fn name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "None".to_string(),
        Some(ResponseError::Unknown(code)) => format!("error code {code}"),
        Some(known) => format!("{known:?}"),
    }
}

/// [`name`] as a `&'static str`, for metric labels (computed once per
/// code; codes outside -1..=255 share one label).
pub fn static_name(code: i16) -> &'static str {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (-1..=255)
            .map(|c| &*Box::leak(name(c).into_boxed_str()))
            .collect()
    });
    usize::try_from(i32::from(code) + 1)
        .ok()
        .and_then(|i| names.get(i).copied())
        .unwrap_or("error code out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_names_are_the_protocol_names() {
        assert_eq!(static_name(NOT_LEADER_OR_FOLLOWER), "NotLeaderOrFollower");
        assert_eq!(static_name(UNKNOWN_SERVER_ERROR), "UnknownServerError");
        assert_eq!(static_name(NONE), "None");
        assert_eq!(static_name(-7), "error code out of range");
        assert_eq!(static_name(1000), "error code out of range");
    }

    #[test]
    fn codes_are_the_numbers_clients_expect() {
        // Spot checks against the Kafka protocol guide, so that a change of
        // the protocol crate's table cannot silently renumber the answers.
        assert_eq!(NONE, 0);
        assert_eq!(UNKNOWN_SERVER_ERROR, -1);
        assert_eq!(OFFSET_OUT_OF_RANGE, 1);
        assert_eq!(CORRUPT_MESSAGE, 2);
        assert_eq!(UNKNOWN_TOPIC_OR_PARTITION, 3);
        assert_eq!(NOT_LEADER_OR_FOLLOWER, 6);
        assert_eq!(COORDINATOR_NOT_AVAILABLE, 15);
        assert_eq!(INVALID_TOPIC_EXCEPTION, 17);
        assert_eq!(TOPIC_ALREADY_EXISTS, 36);
        assert_eq!(INVALID_PARTITIONS, 37);
        assert_eq!(INVALID_REPLICATION_FACTOR, 38);
        assert_eq!(INVALID_CONFIG, 40);
        assert_eq!(NOT_CONTROLLER, 41);
        assert_eq!(INVALID_REQUEST, 42);
        assert_eq!(LOG_DIR_NOT_FOUND, 57);
        assert_eq!(INVALID_RECORD, 87);
    }

    #[test]
    fn every_code_is_the_protocol_tables_number() {
        let table = [
            (
                UNKNOWN_SERVER_ERROR,
                ResponseError::UnknownServerError.code(),
                "UNKNOWN_SERVER_ERROR",
            ),
            (
                OFFSET_OUT_OF_RANGE,
                ResponseError::OffsetOutOfRange.code(),
                "OFFSET_OUT_OF_RANGE",
            ),
            (
                CORRUPT_MESSAGE,
                ResponseError::CorruptMessage.code(),
                "CORRUPT_MESSAGE",
            ),
            (
                UNKNOWN_TOPIC_OR_PARTITION,
                ResponseError::UnknownTopicOrPartition.code(),
                "UNKNOWN_TOPIC_OR_PARTITION",
            ),
            (
                LEADER_NOT_AVAILABLE,
                ResponseError::LeaderNotAvailable.code(),
                "LEADER_NOT_AVAILABLE",
            ),
            (
                SECURITY_DISABLED,
                ResponseError::SecurityDisabled.code(),
                "SECURITY_DISABLED",
            ),
            (
                NOT_LEADER_OR_FOLLOWER,
                ResponseError::NotLeaderOrFollower.code(),
                "NOT_LEADER_OR_FOLLOWER",
            ),
            (
                REQUEST_TIMED_OUT,
                ResponseError::RequestTimedOut.code(),
                "REQUEST_TIMED_OUT",
            ),
            (
                MESSAGE_TOO_LARGE,
                ResponseError::MessageTooLarge.code(),
                "MESSAGE_TOO_LARGE",
            ),
            (
                COORDINATOR_NOT_AVAILABLE,
                ResponseError::CoordinatorNotAvailable.code(),
                "COORDINATOR_NOT_AVAILABLE",
            ),
            (
                INVALID_TOPIC_EXCEPTION,
                ResponseError::InvalidTopicException.code(),
                "INVALID_TOPIC_EXCEPTION",
            ),
            (
                INVALID_REQUIRED_ACKS,
                ResponseError::InvalidRequiredAcks.code(),
                "INVALID_REQUIRED_ACKS",
            ),
            (
                UNSUPPORTED_VERSION,
                ResponseError::UnsupportedVersion.code(),
                "UNSUPPORTED_VERSION",
            ),
            (
                OUT_OF_ORDER_SEQUENCE_NUMBER,
                ResponseError::OutOfOrderSequenceNumber.code(),
                "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ),
            (
                INVALID_PRODUCER_EPOCH,
                ResponseError::InvalidProducerEpoch.code(),
                "INVALID_PRODUCER_EPOCH",
            ),
            (
                UNKNOWN_PRODUCER_ID,
                ResponseError::UnknownProducerId.code(),
                "UNKNOWN_PRODUCER_ID",
            ),
            (
                INVALID_TXN_STATE,
                ResponseError::InvalidTxnState.code(),
                "INVALID_TXN_STATE",
            ),
            (
                INVALID_PRODUCER_ID_MAPPING,
                ResponseError::InvalidProducerIdMapping.code(),
                "INVALID_PRODUCER_ID_MAPPING",
            ),
            (
                INVALID_TRANSACTION_TIMEOUT,
                ResponseError::InvalidTransactionTimeout.code(),
                "INVALID_TRANSACTION_TIMEOUT",
            ),
            (
                CONCURRENT_TRANSACTIONS,
                ResponseError::ConcurrentTransactions.code(),
                "CONCURRENT_TRANSACTIONS",
            ),
            (
                PRODUCER_FENCED,
                ResponseError::ProducerFenced.code(),
                "PRODUCER_FENCED",
            ),
            (
                OPERATION_NOT_ATTEMPTED,
                ResponseError::OperationNotAttempted.code(),
                "OPERATION_NOT_ATTEMPTED",
            ),
            (
                CLUSTER_AUTHORIZATION_FAILED,
                ResponseError::ClusterAuthorizationFailed.code(),
                "CLUSTER_AUTHORIZATION_FAILED",
            ),
            (
                UNSTABLE_OFFSET_COMMIT,
                ResponseError::UnstableOffsetCommit.code(),
                "UNSTABLE_OFFSET_COMMIT",
            ),
            (
                TRANSACTIONAL_ID_NOT_FOUND,
                ResponseError::TransactionalIdNotFound.code(),
                "TRANSACTIONAL_ID_NOT_FOUND",
            ),
            (
                TOPIC_ALREADY_EXISTS,
                ResponseError::TopicAlreadyExists.code(),
                "TOPIC_ALREADY_EXISTS",
            ),
            (
                INVALID_PARTITIONS,
                ResponseError::InvalidPartitions.code(),
                "INVALID_PARTITIONS",
            ),
            (
                INVALID_REPLICATION_FACTOR,
                ResponseError::InvalidReplicationFactor.code(),
                "INVALID_REPLICATION_FACTOR",
            ),
            (
                INVALID_REPLICA_ASSIGNMENT,
                ResponseError::InvalidReplicaAssignment.code(),
                "INVALID_REPLICA_ASSIGNMENT",
            ),
            (
                INVALID_CONFIG,
                ResponseError::InvalidConfig.code(),
                "INVALID_CONFIG",
            ),
            (
                NOT_CONTROLLER,
                ResponseError::NotController.code(),
                "NOT_CONTROLLER",
            ),
            (
                INVALID_REQUEST,
                ResponseError::InvalidRequest.code(),
                "INVALID_REQUEST",
            ),
            (
                LOG_DIR_NOT_FOUND,
                ResponseError::LogDirNotFound.code(),
                "LOG_DIR_NOT_FOUND",
            ),
            (
                INVALID_RECORD,
                ResponseError::InvalidRecord.code(),
                "INVALID_RECORD",
            ),
            (
                OFFSET_METADATA_TOO_LARGE,
                ResponseError::OffsetMetadataTooLarge.code(),
                "OFFSET_METADATA_TOO_LARGE",
            ),
            (
                ILLEGAL_GENERATION,
                ResponseError::IllegalGeneration.code(),
                "ILLEGAL_GENERATION",
            ),
            (
                INCONSISTENT_GROUP_PROTOCOL,
                ResponseError::InconsistentGroupProtocol.code(),
                "INCONSISTENT_GROUP_PROTOCOL",
            ),
            (
                INVALID_GROUP_ID,
                ResponseError::InvalidGroupId.code(),
                "INVALID_GROUP_ID",
            ),
            (
                UNKNOWN_MEMBER_ID,
                ResponseError::UnknownMemberId.code(),
                "UNKNOWN_MEMBER_ID",
            ),
            (
                INVALID_SESSION_TIMEOUT,
                ResponseError::InvalidSessionTimeout.code(),
                "INVALID_SESSION_TIMEOUT",
            ),
            (
                REBALANCE_IN_PROGRESS,
                ResponseError::RebalanceInProgress.code(),
                "REBALANCE_IN_PROGRESS",
            ),
            (
                NON_EMPTY_GROUP,
                ResponseError::NonEmptyGroup.code(),
                "NON_EMPTY_GROUP",
            ),
            (
                GROUP_ID_NOT_FOUND,
                ResponseError::GroupIdNotFound.code(),
                "GROUP_ID_NOT_FOUND",
            ),
            (
                MEMBER_ID_REQUIRED,
                ResponseError::MemberIdRequired.code(),
                "MEMBER_ID_REQUIRED",
            ),
            (
                GROUP_MAX_SIZE_REACHED,
                ResponseError::GroupMaxSizeReached.code(),
                "GROUP_MAX_SIZE_REACHED",
            ),
            (
                PREFERRED_LEADER_NOT_AVAILABLE,
                ResponseError::PreferredLeaderNotAvailable.code(),
                "PREFERRED_LEADER_NOT_AVAILABLE",
            ),
            (
                ELIGIBLE_LEADERS_NOT_AVAILABLE,
                ResponseError::EligibleLeadersNotAvailable.code(),
                "ELIGIBLE_LEADERS_NOT_AVAILABLE",
            ),
            (
                ELECTION_NOT_NEEDED,
                ResponseError::ElectionNotNeeded.code(),
                "ELECTION_NOT_NEEDED",
            ),
            (
                NO_REASSIGNMENT_IN_PROGRESS,
                ResponseError::NoReassignmentInProgress.code(),
                "NO_REASSIGNMENT_IN_PROGRESS",
            ),
            (
                FENCED_INSTANCE_ID,
                ResponseError::FencedInstanceId.code(),
                "FENCED_INSTANCE_ID",
            ),
            (
                GROUP_SUBSCRIBED_TO_TOPIC,
                ResponseError::GroupSubscribedToTopic.code(),
                "GROUP_SUBSCRIBED_TO_TOPIC",
            ),
            (
                UNKNOWN_TOPIC_ID,
                ResponseError::UnknownTopicId.code(),
                "UNKNOWN_TOPIC_ID",
            ),
            (
                FENCED_MEMBER_EPOCH,
                ResponseError::FencedMemberEpoch.code(),
                "FENCED_MEMBER_EPOCH",
            ),
            (
                UNRELEASED_INSTANCE_ID,
                ResponseError::UnreleasedInstanceId.code(),
                "UNRELEASED_INSTANCE_ID",
            ),
            (
                UNSUPPORTED_ASSIGNOR,
                ResponseError::UnsupportedAssignor.code(),
                "UNSUPPORTED_ASSIGNOR",
            ),
            (
                STALE_MEMBER_EPOCH,
                ResponseError::StaleMemberEpoch.code(),
                "STALE_MEMBER_EPOCH",
            ),
            (
                FENCED_LEADER_EPOCH,
                ResponseError::FencedLeaderEpoch.code(),
                "FENCED_LEADER_EPOCH",
            ),
            (
                UNKNOWN_LEADER_EPOCH,
                ResponseError::UnknownLeaderEpoch.code(),
                "UNKNOWN_LEADER_EPOCH",
            ),
            (
                UNSUPPORTED_ENDPOINT_TYPE,
                ResponseError::UnsupportedEndpointType.code(),
                "UNSUPPORTED_ENDPOINT_TYPE",
            ),
            (
                INVALID_REGULAR_EXPRESSION,
                ResponseError::InvalidRegularExpression.code(),
                "INVALID_REGULAR_EXPRESSION",
            ),
        ];
        for (ours, protocol, name) in table {
            assert_eq!(ours, protocol, "{name}");
        }
    }

    #[test]
    fn names_come_from_the_protocol_table() {
        assert_eq!(name(NOT_LEADER_OR_FOLLOWER), "NotLeaderOrFollower");
        assert_eq!(name(NONE), "None");
        assert_eq!(name(9999), "error code 9999");
    }
}
