//! Every Kafka protocol error code Cairn sends, in one place. The numbers come
//! from `kafka-protocol`'s table ([`ResponseError`]), so a code here cannot
//! drift from the protocol; every other crate imports them from here.
//!
//! The codes are plain `i16`, the type of every `error_code` field on the
//! wire. [`crate::KafkaError`] pairs one with a message.

use kafka_protocol::ResponseError;

/// No error.
pub const NONE: i16 = 0;
/// The server hit an unexpected error.
pub const UNKNOWN_SERVER_ERROR: i16 = ResponseError::UnknownServerError.code();
/// The fetch offset is outside the partition's range.
pub const OFFSET_OUT_OF_RANGE: i16 = ResponseError::OffsetOutOfRange.code();
/// A record batch failed its CRC or is malformed.
pub const CORRUPT_MESSAGE: i16 = ResponseError::CorruptMessage.code();
/// The topic or partition does not exist on this cluster.
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = ResponseError::UnknownTopicOrPartition.code();
/// No leader is known for the partition right now (retriable).
pub const LEADER_NOT_AVAILABLE: i16 = ResponseError::LeaderNotAvailable.code();
/// This broker does not lead the partition.
pub const NOT_LEADER_OR_FOLLOWER: i16 = ResponseError::NotLeaderOrFollower.code();
/// The request did not complete within its timeout.
pub const REQUEST_TIMED_OUT: i16 = ResponseError::RequestTimedOut.code();
/// A record batch is larger than `max.message.bytes`.
pub const MESSAGE_TOO_LARGE: i16 = ResponseError::MessageTooLarge.code();
/// The metadata group cannot answer right now (retriable): Cairn's answer
/// when the controller is unavailable.
pub const COORDINATOR_NOT_AVAILABLE: i16 = ResponseError::CoordinatorNotAvailable.code();
/// The topic name breaks Kafka's naming rules.
pub const INVALID_TOPIC_EXCEPTION: i16 = ResponseError::InvalidTopicException.code();
/// `acks` is not -1, 0 or 1.
pub const INVALID_REQUIRED_ACKS: i16 = ResponseError::InvalidRequiredAcks.code();
/// The version of the API is not supported.
pub const UNSUPPORTED_VERSION: i16 = ResponseError::UnsupportedVersion.code();
/// A topic of that name exists already.
pub const TOPIC_ALREADY_EXISTS: i16 = ResponseError::TopicAlreadyExists.code();
/// The partition count is below 1 or cannot be reached (a topic never shrinks).
pub const INVALID_PARTITIONS: i16 = ResponseError::InvalidPartitions.code();
/// The replication factor is below 1 or above the number of live brokers.
pub const INVALID_REPLICATION_FACTOR: i16 = ResponseError::InvalidReplicationFactor.code();
/// Manual replica assignment is not supported.
pub const INVALID_REPLICA_ASSIGNMENT: i16 = ResponseError::InvalidReplicaAssignment.code();
/// A config key or value is not accepted.
pub const INVALID_CONFIG: i16 = ResponseError::InvalidConfig.code();
/// The request reached a broker that is not the controller (retriable).
pub const NOT_CONTROLLER: i16 = ResponseError::NotController.code();
/// The request is malformed in a way the decoder accepts (a null config
/// value, an unsupported resource type or config operation).
pub const INVALID_REQUEST: i16 = ResponseError::InvalidRequest.code();
/// Kafka's "log directory not found". Cairn sends it when a replica
/// assignment names a broker that is not registered.
pub const LOG_DIR_NOT_FOUND: i16 = ResponseError::LogDirNotFound.code();
/// The record batch is invalid (count, codec, magic).
pub const INVALID_RECORD: i16 = ResponseError::InvalidRecord.code();

/// Kafka's name for `code` (`NotLeaderOrFollower`), `"None"` for [`NONE`],
/// or `error code N` if the protocol table does not know it.
pub fn name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "None".to_string(),
        Some(ResponseError::Unknown(code)) => format!("error code {code}"),
        Some(known) => format!("{known:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn names_come_from_the_protocol_table() {
        assert_eq!(name(NOT_LEADER_OR_FOLLOWER), "NotLeaderOrFollower");
        assert_eq!(name(NONE), "None");
        assert_eq!(name(9999), "error code 9999");
    }
}
