//! The error a [`crate::KafkaCluster`] call returns: the Kafka error code the
//! client gets, and what failed where the response has room to say it.

use crate::error_code;

/// A refused or failed cluster operation, as a client will see it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} ({code}){}", error_code::name(*code), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct KafkaError {
    /// The Kafka error code (one of [`crate::error_code`]).
    pub code: i16,
    /// What failed and with which input. Sent as the response's
    /// `error_message` where the API has one (Produce, the admin APIs).
    pub message: Option<String>,
}

impl KafkaError {
    /// An error with a message for the client.
    pub fn new(code: i16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: Some(message.into()),
        }
    }

    /// An error that is only a code: the code says it all (NOT_LEADER_OR_FOLLOWER).
    pub fn from_code(code: i16) -> Self {
        Self {
            code,
            message: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_code_and_the_message() {
        let e = KafkaError::new(error_code::INVALID_PARTITIONS, "topic 't': 0 partitions");
        assert_eq!(
            e.to_string(),
            "InvalidPartitions (37): topic 't': 0 partitions"
        );
        assert_eq!(
            KafkaError::from_code(error_code::NOT_LEADER_OR_FOLLOWER).to_string(),
            "NotLeaderOrFollower (6)"
        );
    }
}
